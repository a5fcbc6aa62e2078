"""The evaluate section's new fields (metrics, options, generation, perplexity, tasks, gates):
bad values name file, line and field with a hint; good ones compile into the stage's deps."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from repro.cli import main
from tests.conftest import TINY_PRETRAIN, TINY_SFT, make_workspace

REPO = Path(__file__).resolve().parents[3]


def _sft(extra: str) -> str:
    """TINY_SFT with lines added to its evaluate section (they start on line 17)."""
    return TINY_SFT.replace("  max_examples: 20\ntracking", f"  max_examples: 20\n{extra}tracking")


CASES = {
    "unknown_metric": (TINY_SFT.replace("[perplexity, exact_match]", "[perplexity, bleu4]"),
                       ["specs/bad.yaml:15:25", "evaluate.metrics[1]", "must be one of",
                        "did you mean 'bleu'?"]),
    "bleu_on_text": (TINY_PRETRAIN.replace("metrics: [perplexity]", "metrics: [bleu]"),
                     ["specs/bad.yaml:", "evaluate.metrics", "bleu compares generated answers",
                      "data.format is 'text'"]),
    "bad_tokenizer": (_sft("  options: {bleu: {tokenize: flores200}}\n"),
                      ["specs/bad.yaml:17:", "evaluate.options.bleu.tokenize", "must be one of"]),
    "temperature_greedy": (_sft("  generation: {temperature: 0.7}\n"),
                           ["specs/bad.yaml:17:", "evaluate.generation",
                            "apply to sampling only"]),
    "top_p_range": (_sft("  generation: {do_sample: true, top_p: 1.5}\n"),
                    ["specs/bad.yaml:17:", "evaluate.generation.top_p", "must be <= 1"]),
    "stride_too_big": (_sft("  perplexity: {max_length: 16, stride: 32}\n"),
                       ["specs/bad.yaml:17:", "evaluate.perplexity",
                        "stride (32) must be <= max_length (16)"]),
    "bad_regex": (_sft("  options: {exact_match: {regexes_to_ignore: ['(']}}\n"),
                  ["evaluate.options.exact_match", "bad regular expression"]),
    "gate_without_kind": (_sft("  gates: [{metric: exact_match}]\n"),
                          ["specs/bad.yaml:17:", "evaluate.gates[0]",
                           "needs min, max, max_regression or ci_disjoint"]),
    "gate_unknown_metric": (_sft("  gates: [{metric: exact_mach, min: 0.5}]\n"),
                            ["specs/bad.yaml:17:", "evaluate.gates.0.metric",
                             "'exact_mach' is not a metric this spec writes",
                             "did you mean 'exact_match'?"]),
    "gate_regression_needs_against": (_sft("  gates: [{metric: exact_match, max_regression: 0.1}]\n"),
                                      ["evaluate.gates[0]", "set against: <spec name>"]),
    "gate_unknown_spec": (_sft("  gates: [{metric: exact_match, against: prre, "
                               "max_regression: 0.1}]\n"),
                          ["specs/bad.yaml:17:", "evaluate.gates.0.against",
                           "no spec named 'prre'", "did you mean 'pre'?"]),
    "gate_self": (_sft("  gates: [{metric: exact_match, against: bad, max_regression: 0.1}]\n"),
                  ["evaluate.gates.0.against", "cannot compare a spec with itself"]),
    "ci_needs_bootstrap": (_sft("  bootstrap: {iters: 0}\n  gates: [{metric: exact_match, "
                                "against: pre, ci_disjoint: true}]\n"),
                           ["evaluate.gates.0.ci_disjoint", "needs bootstrap intervals"]),
    "task_missing": (_sft("  tasks: [{path: tasks/nope.yaml}]\n"),
                     ["specs/bad.yaml:17:", "evaluate.tasks.0.path",
                      "task file 'tasks/nope.yaml' not found"]),
    "task_outside": (_sft("  tasks: [{path: ../x.yaml}]\n"),
                     ["evaluate.tasks.0.path", "outside the workspace"]),
    "bad_task_file": (_sft("  tasks: [{path: tasks/broken.yaml}]\n"),
                      ["specs/bad.yaml:17:", "evaluate.tasks.0.path", "bad task file:",
                       "tasks/broken.yaml:4:14: output_type: must be one of",
                       "did you mean 'multiple_choice'?"]),
    "custom_missing": (_sft("  custom: [{path: metrics/none.py}]\n"),
                       ["evaluate.custom.0.path", "metric module 'metrics/none.py' not found"]),
    "custom_name_taken": (_sft("  custom: [{path: metrics/m.py, name: bleu}]\n"),
                          ["evaluate", "name 'bleu' is taken"]),
    "lm_eval_without_tasks": (_sft("  harness: lm-eval\n"),
                              ["evaluate.harness", "there are none"]),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_evaluate_fields(case, tmp_path, capsys):
    text, expected = CASES[case]
    ws = make_workspace(tmp_path, {"pre.yaml": TINY_PRETRAIN, "bad.yaml": text})
    (ws / "tasks").mkdir()
    (ws / "tasks/broken.yaml").write_text(
        "task: broken\ndataset_path: json\ndataset_kwargs: {data_files: {test: d.jsonl}}\n"
        "output_type: multiple_chioce\ntest_split: test\ndoc_to_text: q\ndoc_to_target: 0\n"
        "doc_to_choice: c\nmetric_list: [{metric: acc}]\n")
    (ws / "tasks/d.jsonl").write_text('{"q": "x", "c": ["a", "b"]}\n')
    assert main(["-C", str(ws), "validate"]) == 2
    out = capsys.readouterr()
    assert "Traceback" not in out.err + out.out
    for want in expected:
        assert want in out.err + out.out, (want, out.err)


def test_tasks_custom_metrics_and_gate_references_become_stage_deps(tmp_path, capsys):
    extra = ("  metrics: [perplexity, exact_match, bleu, rouge]\n"
             "  tasks: [{path: tasks/agreement.yaml, num_fewshot: 0}]\n"
             "  custom: [{path: metrics/length.py}]\n"
             "  gates:\n"
             "    - {metric: bleu, min: 10}\n"
             "    - {metric: tasks.agreement.acc, against: pre, max_regression: 0.05}\n"
             "    - {metric: base.rougeL, max: 1}\n")
    text = _sft(extra).replace("  metrics: [perplexity, exact_match]\n", "")
    ws = make_workspace(tmp_path, {"pre.yaml": TINY_PRETRAIN, "sft.yaml": text})
    shutil.copytree(REPO / "tasks", ws / "tasks")
    (ws / "metrics").mkdir()
    (ws / "metrics/length.py").write_text('"""x"""\n')
    assert main(["-C", str(ws), "compile"]) == 0, capsys.readouterr().err
    import yaml

    stage = yaml.safe_load((ws / "dvc.yaml").read_text())["stages"]["evaluate-sft"]
    for dep in ("tasks/agreement.yaml", "tasks/agreement.jsonl", "metrics/length.py",
                "runs/pre/metrics.json"):
        assert dep in stage["deps"]
    assert stage["metrics"] == ["runs/sft/metrics.json", "runs/sft/gates.json"]
