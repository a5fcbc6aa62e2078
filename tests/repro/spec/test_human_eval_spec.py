"""The ``human_eval`` section: validated like the rest, compiled to a scoring stage only for
the spec that has one, once its sheet has judgments."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from repro.cli import main
from tests.repro.human.sheets import make_workspace
from tests.specs import spec, to_yaml


def write(ws: Path, human: dict) -> str:
    sft = spec("sft", {"model.base": {"spec": "pre"}}, human_eval=human)
    (ws / "specs/sft-a.yaml").write_text(to_yaml(sft))
    return to_yaml(sft)


@pytest.mark.parametrize(("human", "message"), [
    ({"against": ["sft-z"], "sheet": "h"},
     "human_eval.against.0: no spec named 'sft-z' in specs/ (did you mean 'sft-"),
    ({"against": ["sft-a"], "sheet": "h"},
     "human_eval.against.0: a spec cannot be judged against itself"),
    ({"against": ["sft-b", "sft-b"], "sheet": "h"},
     "human_eval.against.1: 'sft-b' is listed twice"),
    ({"against": ["sft-b"], "sheet": "../elsewhere"},
     "human_eval.sheet: must be a folder inside the workspace"),
    ({"against": [], "sheet": "h"}, "human_eval.against: "),
    ({"against": ["sft-b"], "sheet": "h", "promts": 3},
     "human_eval.promts: unknown field (did you mean 'prompts'?)"),
    ({"against": ["sft-b"], "sheet": "h", "bootstrap": 2},
     "human_eval.bootstrap: must be >= 10 (got 2)"),
])
def test_bad_sections(tmp_path: Path, capsys, human, message):
    ws = make_workspace(tmp_path, sheet=False)
    write(ws, human)
    assert main(["-C", str(ws), "validate"]) == 2
    err = capsys.readouterr().err
    assert "specs/sft-a.yaml:" in err and message in err, err


def test_stage_compiled_once_judged(tmp_path: Path):
    ws = make_workspace(tmp_path)
    assert main(["-C", str(ws), "compile"]) == 0
    params = yaml.safe_load((ws / "params.yaml").read_text())["specs"]
    assert params["sft-a"]["human_eval"]["against"] == ["sft-b", "sft-c"]
    assert "human_eval" not in params["sft-b"]  # other specs' params are untouched
    stages = yaml.safe_load((ws / "dvc.yaml").read_text())["stages"]
    assert "human-eval-sft-a" not in stages  # a sheet, but nothing judged yet
    (ws / "human/abc/judgments").mkdir()
    (ws / "human/abc/judgments/ann.json").write_text("{}")
    assert main(["-C", str(ws), "compile"]) == 0
    stage = yaml.safe_load((ws / "dvc.yaml").read_text())["stages"]["human-eval-sft-a"]
    assert stage["cmd"] == "python -m runners.human_eval sft-a"
    assert stage["params"] == ["specs.sft-a.human_eval", "specs.sft-a.tracking"]
    assert stage["outs"] == ["runs/sft-a/human_eval.lineage.json"]
    assert {"env.lock", "human/abc/judgments", "human/abc/key.json"} <= set(stage["deps"])


def test_scoring_stage_code_is_narrow():
    from repro.contract.codedeps import stage_code

    code = stage_code(Path(__file__).resolve().parents[3], "human_eval")
    assert "runners/human_eval.py" in code and "runners/scoring/human.py" in code
    # no model, data or training code: retraining never re-scores the judgments
    assert not {"runners/models/modeling.py", "runners/training/loop.py",
                "runners/evaluate.py"} & set(code), code
    assert not any(d.startswith("runners/data/") for d in code), code
