"""Task files: repro's runner against real lm-eval on the same model, few-shot, generation."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from repro.errors import SpecErrors
from repro.spec.tasks import load_task
from runners.scoring.tasks import contexts, run_task

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def model_and_tokenizer(pretrained):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    d = pretrained / "runs/pre/model"
    return AutoModelForCausalLM.from_pretrained(d), AutoTokenizer.from_pretrained(d)


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    shutil.copytree(REPO / "tasks", tmp_path / "tasks")
    return tmp_path


def test_multiple_choice_equals_lm_eval(model_and_tokenizer, ws):
    from runners.scoring.lmeval import run_lm_eval

    model, tok = model_and_tokenizer
    task = load_task(ws, "tasks/agreement.yaml")
    boot = {"iters": 200, "seed": 3}
    ours = run_task(model, tok, ws, task, num_fewshot=None, limit=60, seed=3, boot=boot,
                    batch_size=16)
    theirs = run_lm_eval(model, tok, ws, [{"path": "tasks/agreement.yaml", "num_fewshot": None,
                                           "limit": 60}], seed=3, boot=boot, batch_size=16)
    theirs = theirs["agreement"]
    assert ours["n"] == theirs["n"] == 60 and ours["num_fewshot"] == theirs["num_fewshot"] == 0
    assert ours["acc"] == theirs["acc"] and ours["acc_norm"] == theirs["acc_norm"]
    # standard errors: both bootstraps of the same mean (different resamplers)
    assert ours["acc_stderr"] == pytest.approx(theirs["acc_stderr"], rel=0.35)
    lo, hi = ours["ci95"]["acc"]
    assert lo <= ours["acc"] <= hi
    again = run_task(model, tok, ws, task, num_fewshot=None, limit=60, seed=3, boot=boot,
                     batch_size=16)
    assert again == ours  # seeded


def _qa_task(ws: Path, output_type: str = "generate_until", metrics=("exact_match", "bleu")):
    rows = [{"q": f"{a}+{b}", "a": str(a + b)} for a in range(6) for b in range(4)]
    (ws / "qa.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    metric_list = "\n".join(f"  - metric: {m}" for m in metrics)
    (ws / "qa.yaml").write_text(
        "task: qa\ndataset_path: json\n"
        "dataset_kwargs:\n  data_files: {test: qa.jsonl, train: qa.jsonl}\n"
        f"test_split: test\nfewshot_split: train\noutput_type: {output_type}\n"
        "doc_to_text: \"Q: {{q}}\\nA:\"\ndoc_to_target: a\nnum_fewshot: 2\n"
        "generation_kwargs: {until: ['\\n'], max_gen_toks: 4}\n"
        f"metric_list:\n{metric_list}\n")
    return load_task(ws, "qa.yaml")


def test_fewshot_contexts_are_seeded_and_exclude_the_document(ws):
    task = _qa_task(ws)
    from runners.scoring.tasks import read_docs

    docs = read_docs(ws, "qa.jsonl", "json")
    a = contexts(task, docs, docs, 2, seed=1)
    assert a == contexts(task, docs, docs, 2, seed=1)
    assert a != contexts(task, docs, docs, 2, seed=2)
    for ctx, doc in zip(a, docs, strict=True):
        shots = ctx.split("\n\n")
        assert len(shots) == 3 and shots[-1] == f"Q: {doc['q']}\nA:"
        assert f"Q: {doc['q']}\nA: {doc['a']}" not in shots[:2]


def test_generation_and_rolling_tasks_score(model_and_tokenizer, ws):
    model, tok = model_and_tokenizer
    task = _qa_task(ws)
    res = run_task(model, tok, ws, task, num_fewshot=0, limit=8, seed=0,
                   boot={"iters": 50, "seed": 0}, batch_size=4)
    assert res["n"] == 8 and res["num_fewshot"] == 0
    assert 0 <= res["exact_match"] <= 1 and 0 <= res["bleu"] <= 100
    assert "exact_match_stderr" in res and "bleu" in res["ci95"]
    task = _qa_task(ws, "loglikelihood_rolling", ("bits_per_byte", "word_perplexity"))
    res = run_task(model, tok, ws, task, num_fewshot=0, limit=8, seed=0,
                   boot={"iters": 0, "seed": 0}, batch_size=4)
    assert res["bits_per_byte"] > 0 and res["word_perplexity"] > 1


def test_bad_task_files_get_file_line_errors(ws):
    (ws / "bad.yaml").write_text(
        "task: bad\ndataset_path: json\ndataset_kwargs:\n  data_files: {test: missing.jsonl}\n"
        "test_split: test\noutput_type: multiple_choise\ndoc_to_text: '{{ q'\n"
        "doc_to_target: a\nmetric_list: [{metric: acc}]\n")
    with pytest.raises(SpecErrors) as e:
        load_task(ws, "bad.yaml")
    text = str(e.value)
    assert "bad.yaml:6:14: output_type: must be one of" in text
    assert "did you mean 'multiple_choice'?" in text
    (ws / "bad.yaml").write_text(
        "task: bad\ndataset_path: json\ndataset_kwargs:\n  data_files: {test: missing.jsonl}\n"
        "test_split: test\noutput_type: multiple_choice\ndoc_to_text: '{{ q'\n"
        "doc_to_target: a\ndoc_to_choice: c\nmetric_list: [{metric: bleu}]\n")
    with pytest.raises(SpecErrors) as e:
        load_task(ws, "bad.yaml")
    assert "'bleu' is not a metric of multiple_choice tasks" in str(e.value)
    (ws / "bad.yaml").write_text(
        "task: bad\ndataset_path: json\ndataset_kwargs:\n  data_files: {test: missing.jsonl}\n"
        "test_split: test\noutput_type: multiple_choice\ndoc_to_text: '{{ q'\n"
        "doc_to_target: a\ndoc_to_choice: c\nmetric_list: [{metric: acc}]\n")
    with pytest.raises(SpecErrors) as e:
        load_task(ws, "bad.yaml")
    text = str(e.value)
    assert "bad.yaml:4:22: dataset_kwargs.data_files.test: data file 'missing.jsonl' not " \
           "found" in text
    assert "bad.yaml:7:14: doc_to_text: bad Jinja template" in text
