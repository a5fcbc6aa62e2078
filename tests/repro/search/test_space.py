"""The search section is checked before any compute: each bad space is exit 2 with file:line and field."""

from __future__ import annotations

import pytest
import yaml

from repro.cli import main
from tests.conftest import make_workspace
from tests.search_specs import SWEEP


def validate(tmp_path, text: str, capsys) -> tuple[int, str]:
    make_workspace(tmp_path, {"sweep.yaml": text})
    code = main(["-C", str(tmp_path), "validate"])
    return code, capsys.readouterr().err


def with_space(line: str) -> str:
    return SWEEP + f"    {line}\n"


def test_the_tiny_sweep_is_valid(tmp_path, capsys):
    assert validate(tmp_path, SWEEP, capsys) == (0, "")


@pytest.mark.parametrize("line, field, words", [
    ("train.scheduler.warmup_ratio: {low: 0.0, high: 1.0}",
     "search.space.train.scheduler.warmup_ratio.high", "must be less than 1"),
    ("train.peft.alpha: {choices: []}", "search.space.train.peft.alpha",
     "choices is empty"),
    ("train.optimizer.eps: {low: -1.0, high: 1.0, log: true}", "search.space.train.optimizer.eps",
     "log scale needs low > 0"),
    ("train.optimiser.lr: {low: 0.1, high: 0.2}", "search.space.train.optimiser.lr",
     "is not a scalar field"),
    ("train.peft.dropout: {choices: [0.0, 1.5]}", "search.space.train.peft.dropout.choices",
     "choices[1] = 1.5 gives an invalid spec"),
    ("train.max_steps: {low: 1.5, high: 4}", "search.space.train.max_steps.low",
     "is an integer field"),
    ("train.peft.kind: {low: 1, high: 2}", "search.space.train.peft.kind",
     "give choices, not a range"),
    ("train.precision: {choices: [fp32, fp64]}", "search.space.train.precision.choices",
     "gives an invalid spec"),
    ("data.source.size: {choices: [100, 200]}", "search.space.data.source.size",
     "searching data fields is not supported"),
])
def test_bad_space_is_exit_2_with_line_and_field(tmp_path, capsys, line, field, words):
    code, err = validate(tmp_path, with_space(line), capsys)
    assert code == 2
    last = len(with_space(line).splitlines())
    hit = [x for x in err.splitlines() if f": {field}: " in x]
    assert hit, err
    assert hit[0].startswith(f"specs/sweep.yaml:{last}:") and words in hit[0], hit[0]


def test_objective_the_evaluation_does_not_produce(tmp_path, capsys):
    text = SWEEP.replace("metric: perplexity", "metric: bleu")
    code, err = validate(tmp_path, text, capsys)
    line = next(i for i, x in enumerate(text.splitlines(), 1) if "metric: bleu" in x)
    assert code == 2
    assert f"specs/sweep.yaml:{line}:" in err and "search.objective.metric" in err
    assert "'bleu' is not a metric this spec's evaluation writes" in err


def conditional(r_choices: str) -> str:
    return (SWEEP.replace("  peft: {kind: lora, r: 4}\n", "")
            .replace("    train.peft.r: {choices: [2, 4, 8]}\n", "")
            + "    train.peft.kind: {choices: [lora, dora]}\n"
            + f"    train.peft.r: {{choices: {r_choices}, when: {{train.peft.kind: [lora, dora]}}}}\n")


def test_conditional_dimension_is_checked_under_its_condition(tmp_path, capsys):
    # the spec trains in full: r is a field only under an adapter, which the condition names
    assert validate(tmp_path, conditional("[2, 4]"), capsys) == (0, "")
    code, err = validate(tmp_path, conditional("[2, 0]"), capsys)
    assert code == 2 and "search.space.train.peft.r.choices: choices[1] = 0 gives an invalid" in err


def test_sweep_compiles_to_one_search_stage(tmp_path, capsys):
    make_workspace(tmp_path, {"sweep.yaml": SWEEP})
    assert main(["-C", str(tmp_path), "compile"]) == 0
    dvc = yaml.safe_load((tmp_path / "dvc.yaml").read_text())["stages"]
    names = sorted(dvc)
    assert names[0].startswith("prepare-") and names[1:] == ["search-sweep"]
    stage = dvc["search-sweep"]
    assert stage["cmd"] == "python -m runners.search.worker sweep"
    assert stage["params"] == ["specs.sweep"]
    assert "runs/sweep/study.json" in stage["outs"] and "runs/sweep/model" in stage["outs"]
    search = yaml.safe_load((tmp_path / "params.yaml").read_text())["specs"]["sweep"]["search"]
    assert search["sampler"] == {"name": "tpe", "seed": 7, "startup_trials": 2}
    assert search["space"]["train.scheduler.warmup_steps"] == {"type": "int", "low": 0, "high": 10}
    assert search["space"]["train.optimizer.lr"]["type"] == "float"
