"""The human-evaluation runners: answers for the sheet from trained models, and the scoring
stage (metrics, lineage, MLflow run)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from repro.human.ops import write_sheet
from repro.human.sheet import build
from runners.human_eval import human_eval
from runners.human_outputs import outputs
from runners.scoring.metrics import generate_answers, question_answer
from tests.runners.conftest import base_params

pytestmark = pytest.mark.filterwarnings("ignore:.*noload.*:DeprecationWarning")


def test_answers_come_from_the_evaluate_code_path(pretrained, sft_full, sft_lora):
    params = base_params()
    params["specs"]["sft-lora"]["human_eval"] = {
        "against": ["sft-full"], "sheet": "human/x", "prompts": 5, "max_new_tokens": 4}
    got = outputs(params, "sft-lora", pretrained)
    assert [p["index"] for p in got["prompts"]] == list(range(5))
    assert list(got["outputs"]) == ["sft-lora", "sft-full"]
    assert all(len(a) == 5 and all(isinstance(x, str) for x in a)
               for a in got["outputs"].values())
    assert got["models"]["sft-full"]["path"] == "runs/sft-full/model"
    assert got["models"]["sft-full"]["record"]["path"] == "runs/sft-full/train.lineage.json"
    # the same greedy answers the evaluate stage's functions give
    from runners.data.batching import read_rows
    from runners.human_outputs import SECTIONS
    from runners.models import modeling
    from runners.params import resolve_spec

    s = resolve_spec(params["specs"]["sft-full"], "sft-full", SECTIONS)
    model, tok = modeling.load_trained(s, "sft-full", pretrained)
    rows = read_rows(pretrained / "runs/_data/arith-test/test.jsonl")[:5]
    qa = [question_answer(tok, r, "instruction") for r in rows]
    assert got["outputs"]["sft-full"] == generate_answers(model, tok, [q[0] for q in qa], 4, 8)
    assert [p["reference"] for p in got["prompts"]] == [q[1] for q in qa]
    # and again: the same answers (greedy, seeded)
    assert outputs(params, "sft-lora", pretrained) == got


def test_scoring_stage_logs_metrics_to_mlflow(tmp_path: Path, monkeypatch):
    from mlflow.tracking import MlflowClient

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    prompts = [{"index": i, "prompt": f"q{i}", "reference": "r"} for i in range(3)]
    outs = {"x": ["r", "r", "r"], "y": ["r", "no", "no"]}
    models = {s: {"path": f"runs/{s}/model", "sha256": None, "record": None} for s in outs}
    sheet = build("x", 1, "test", prompts, outs, models)
    write_sheet(tmp_path / "human/xy", sheet)
    verdicts = {i.item: ("tie" if i.prompt == 0 else ("A" if i.A == "x" else "B"))
                for i in sheet.key.items}
    (tmp_path / "human/xy/judgments").mkdir()
    (tmp_path / "human/xy/judgments/ann.json").write_text(json.dumps({
        "human_judgments_version": 1, "sheet_id": sheet.key.sheet_id, "annotator": "ann",
        "judgments": [{"item": k, "verdict": v} for k, v in verdicts.items()]}))
    spec = {"human_eval": {"against": ["y"], "sheet": "human/xy"},
            "tracking": {"mlflow": True, "experiment": "tests"}}
    m = human_eval(spec, "x", tmp_path)
    pair = m["pairs"]["x_vs_y"]
    assert (pair["wins"], pair["losses"], pair["ties"], pair["n"]) == (2, 0, 1, 3)
    assert "bradley_terry" not in m and m["agreement"] is None
    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}")
    (run,) = client.search_runs([client.get_experiment_by_name("tests").experiment_id],
                                "tags.`repro.stage` = 'human_eval'")
    assert run.data.metrics["pairs.x_vs_y.win_rate"] == 1.0
    assert run.data.metrics["pairs.x_vs_y.ties"] == 1
    assert run.data.params["human_eval.seed"] == "0"
    # the same judgments, the same bytes
    first = (tmp_path / "runs/x/human_eval.json").read_bytes()
    spec["tracking"]["mlflow"] = False
    human_eval(spec, "x", tmp_path)
    assert (tmp_path / "runs/x/human_eval.json").read_bytes() == first
    # a hand-edited judgments file is refused by the stage too
    shutil.copy(tmp_path / "human/xy/judgments/ann.json", tmp_path / "human/xy/judgments/bob.json")
    from runners.errors import RunnerError

    with pytest.raises(RunnerError, match="the file of 'bob' holds the judgments of 'ann'"):
        human_eval(spec, "x", tmp_path)
