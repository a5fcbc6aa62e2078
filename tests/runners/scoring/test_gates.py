"""Regression gates: each kind on its own, and a failed gate failing the evaluate stage."""

from __future__ import annotations

import json

import pytest

from repro.contract import paths
from runners.scoring.gates import check


def _ref(root, spec, metrics):
    d = root / paths.spec_dir(spec)
    d.mkdir(parents=True, exist_ok=True)
    (d / paths.METRICS).write_text(json.dumps(metrics))


def test_floor_ceiling_and_lookups(tmp_path):
    m = {"bleu": 60.0, "tasks": {"agreement": {"acc": 0.8}}}
    res = check(m, [{"metric": "bleu", "min": 50, "max": 70},
                    {"metric": "tasks.agreement.acc", "min": 0.9}], tmp_path)
    assert not res["passed"]
    assert [(g["kind"], g["passed"]) for g in res["gates"]] == [("min", True), ("max", True),
                                                               ("min", False)]
    bad = res["gates"][2]
    assert bad == {"metric": "tasks.agreement.acc", "kind": "min", "value": 0.8,
                   "threshold": 0.9, "reference": None, "reference_value": None,
                   "passed": False, "message": "tasks.agreement.acc = 0.8 < floor 0.9"}


def test_max_regression_absolute_relative_and_lower_is_better(tmp_path):
    _ref(tmp_path, "ref", {"bleu": 50.0, "token_perplexity": 10.0})
    up = check({"bleu": 46.0}, [{"metric": "bleu", "against": "ref", "max_regression": 5}],
               tmp_path)["gates"][0]
    assert up["passed"] and up["threshold"] == 45.0 and up["reference_value"] == 50.0
    assert up["reference"] == "ref" and "runs/ref/metrics.json" in up["message"]
    rel = check({"bleu": 46.0}, [{"metric": "bleu", "against": "ref", "max_regression": 0.05,
                                  "relative": True}], tmp_path)["gates"][0]
    assert not rel["passed"] and rel["threshold"] == pytest.approx(47.5)
    assert "regressed past threshold 47.5" in rel["message"]
    ppl = check({"token_perplexity": 10.5}, [{"metric": "token_perplexity", "against": "ref",
                                              "max_regression": 0.4}], tmp_path)["gates"][0]
    assert not ppl["passed"] and ppl["threshold"] == pytest.approx(10.4)
    missing = check({"bleu": 1.0}, [{"metric": "bleu", "against": "nope",
                                     "max_regression": 1}], tmp_path)
    assert not missing["passed"] and "no reference value" in missing["gates"][0]["message"]


def test_ci_disjoint(tmp_path):
    _ref(tmp_path, "ref", {"tasks": {"t": {"acc": 0.5, "ci95": {"acc": [0.4, 0.6]}}}})
    gate = [{"metric": "tasks.t.acc", "against": "ref", "ci_disjoint": True}]
    ok = check({"tasks": {"t": {"acc": 0.8, "ci95": {"acc": [0.7, 0.9]}}}}, gate, tmp_path)
    assert ok["passed"] and ok["gates"][0]["threshold"] == 0.6
    overlap = check({"tasks": {"t": {"acc": 0.65, "ci95": {"acc": [0.55, 0.75]}}}}, gate,
                    tmp_path)
    assert not overlap["passed"] and "overlaps" in overlap["gates"][0]["message"]


def test_a_raised_threshold_fails_the_stage_and_gates_json_says_why(pretrained, sft_full):
    from runners.errors import RunnerError
    from runners.evaluate import evaluate
    from tests.runners.conftest import base_params

    spec = base_params()["specs"]["sft-full"]
    name = "sft-full-gated"
    # evaluate a copy of sft-full's model under a spec name of this test's own
    import shutil

    out = pretrained / paths.spec_dir(name)
    shutil.rmtree(out, ignore_errors=True)
    shutil.copytree(pretrained / paths.spec_dir("sft-full"), out)
    (out / paths.METRICS).unlink(missing_ok=True)
    spec["evaluate"]["gates"] = [{"metric": "perplexity", "max": 1000.0},
                                 {"metric": "exact_match", "min": 0.0}]
    spec["evaluate"]["bootstrap"] = {"iters": 100}
    metrics = evaluate(spec, name, pretrained)
    gates = json.loads((out / paths.GATES).read_text())
    assert gates["passed"] and len(gates["gates"]) == 2
    # the same model, a floor above what it reaches: the stage fails, gates.json is written
    spec["evaluate"]["gates"][1]["min"] = metrics["exact_match"] + 0.5
    with pytest.raises(RunnerError) as e:
        evaluate(spec, name, pretrained)
    msg = str(e.value)
    assert f"exact_match = {metrics['exact_match']:g} < floor" in msg and "gates.json" in msg
    gates = json.loads((out / paths.GATES).read_text())
    assert gates["passed"] is False
    failed = [g for g in gates["gates"] if not g["passed"]]
    assert [(g["metric"], g["kind"]) for g in failed] == [("exact_match", "min")]
    assert failed[0]["threshold"] == pytest.approx(metrics["exact_match"] + 0.5)
    lineage = json.loads((out / paths.EVAL_LINEAGE).read_text())
    assert lineage["evaluation"]["gates_passed"] is False
