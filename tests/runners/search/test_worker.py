"""The in-process sweep worker: reproducible studies, pruning, and evaluation that never
changes training."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

import pytest
import yaml

from repro.contract import paths
from tests.search_specs import SWEEP
from tests.specs import compile_params


def sweep_params(text: str = SWEEP) -> dict:
    return compile_params({"sweep": yaml.safe_load(text)})


def prepared(root: Path, params: dict) -> Path:
    from runners.prepare import prepare

    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    for key, dataset in params["datasets"].items():
        prepare(dataset, root / paths.data_dir(key), root)
    return root


@pytest.fixture(scope="module")
def data_root(tmp_path_factory) -> Path:
    return prepared(tmp_path_factory.mktemp("sweep-data"), sweep_params())


def fresh(tmp_path: Path, data_root: Path, name: str) -> Path:
    """A workspace sharing the prepared data set (copied: prepared once per module)."""
    root = tmp_path / name
    shutil.copytree(data_root, root)
    return root


def table(study: dict) -> list[dict]:
    return [{k: v for k, v in t.items() if k != "duration_s"} for t in study["trials"]]


def files(d: Path) -> dict[str, bytes]:
    return {str(f.relative_to(d)): f.read_bytes() for f in sorted(d.rglob("*")) if f.is_file()}


def test_seeded_sweep_twice_from_scratch_is_identical(tmp_path, data_root):
    from runners.search.worker import run

    params = sweep_params()
    spec = params["specs"]["sweep"]
    studies, models = [], []
    for name in ("one", "two"):
        root = fresh(tmp_path, data_root, name)
        studies.append(run("sweep", copy.deepcopy(spec), root))
        models.append(files(root / "runs/sweep/model"))
        saved = json.loads((root / "runs/sweep/study.json").read_text())
        assert saved["trials"] == studies[-1]["trials"]
    one, two = studies
    assert table(one) == table(two)
    assert len(one["trials"]) == 4 and one["best_trial"] is not None
    assert models[0] == models[1] and any(k.endswith(".safetensors") for k in models[0])
    # the record: sampler with every argument (Optuna's defaults included), seeded by the spec
    assert one["sampler"]["class"].endswith("TPESampler")
    assert one["sampler"]["args"]["seed"] == 7 and one["sampler"]["args"]["n_startup_trials"] == 2
    assert "constant_liar" in one["sampler"]["args"]
    for t in one["trials"]:
        assert t["seed"] == 7 and set(t["params"]) <= set(spec["search"]["space"])
        assert t["state"] in ("COMPLETE", "PRUNED")
        assert [int(s) for s in t["intermediate"]][:2] == [5, 10]
    # the best trial's results are the spec's results, its lineage names the trial
    root = tmp_path / "one"
    best = json.loads((root / "runs/sweep/best.json").read_text())
    assert best["trial"] == one["best_trial"] and best["study"] == one["study"]
    metrics = json.loads((root / "runs/sweep/metrics.json").read_text())
    assert [metrics["perplexity"]] == best["values"]
    lineage = json.loads((root / "runs/sweep/evaluate.lineage.json").read_text())
    assert lineage["spec"] == f"sweep/study/trials/{best['trial']:04d}"
    assert lineage["command"].endswith(f"study {one['study']}, trial {best['trial']}")
    assert best["spec"]["train"]["optimizer"]["lr"] == best["params"]["train.optimizer.lr"]
    assert (root / "runs/sweep/study/plots/plots.html").stat().st_size > 1_000_000  # plotly inlined
    assert (root / "runs/sweep/study/plots/optimization_history.png").is_file()


def test_pruned_trials_are_recorded_with_their_last_values(tmp_path, data_root):
    from runners.search.worker import run

    text = (SWEEP.replace("trials: 4", "trials: 6")
            .replace("sampler: {name: tpe, startup_trials: 2}", "sampler: {name: grid}")
            .replace("train.optimizer.lr: {low: 1.0e-4, high: 1.0e-1, log: true}",
                     "train.optimizer.lr: {choices: [0.05, 1.0e-6]}")
            .replace("train.scheduler.warmup_steps: {low: 0, high: 10}\n", ""))
    spec = sweep_params(text)["specs"]["sweep"]
    root = fresh(tmp_path, data_root, "pruned")
    study = run("sweep", spec, root)
    pruned = [t for t in study["trials"] if t["state"] == "PRUNED"]
    assert pruned, table(study)
    for t in pruned:
        assert t["values"] is None and t["intermediate"]
        assert t["params"]["train.optimizer.lr"] == 1.0e-6  # the learning rate that cannot learn
        assert not (root / f"runs/sweep/study/trials/{t['number']:04d}/model").exists()
    best = next(t for t in study["trials"] if t["number"] == study["best_trial"])
    assert best["params"]["train.optimizer.lr"] == 0.05


def test_intermediate_evaluation_does_not_change_the_weights(tmp_path, data_root):
    from runners.train import train

    spec = {k: v for k, v in sweep_params()["specs"]["sweep"].items() if k != "search"}
    spec["train"]["peft"]["dropout"] = 0.1  # RNG in the forward pass: eval must not touch it
    root = fresh(tmp_path, data_root, "weights")
    seen = []
    train(spec, "plain", root)
    train(spec, "watched", root, intermediate={
        "every": 3, "max_examples": 16, "report": lambda step, v: seen.append((step, v))})
    assert files(root / "runs/plain/model") == files(root / "runs/watched/model")
    assert [s for s, _ in seen] == [3, 6, 9, 12, 15, 18]
    log = (root / "runs/watched/train_log.csv").read_text().splitlines()
    assert log[0] == "step,loss,lr,val_loss"
    assert any(row.startswith("3,,,") for row in log)  # evaluated between logged steps
    assert (root / "runs/plain/train_log.csv").read_text().splitlines()[0] == "step,loss,lr"


def test_mlflow_parent_run_per_sweep_and_nested_run_per_trial(tmp_path, data_root, monkeypatch):
    import sqlite3

    from runners.search.worker import run

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    text = SWEEP.replace("trials: 4", "trials: 2").replace("  mlflow: false", "  mlflow: true")
    spec = sweep_params(text)["specs"]["sweep"]
    root = fresh(tmp_path, data_root, "tracked")
    study = run("sweep", spec, root)
    db = sqlite3.connect(root / "mlflow.db")

    def tagged(key, value):
        return {r for (r,) in db.execute(
            "select run_uuid from tags where key = ? and value = ?", (key, value))}

    parents = tagged("repro.role", "study")
    trials = tagged("repro.role", "trial")
    assert len(parents) == 1 and len(trials) == 2
    (parent,) = parents
    assert trials == tagged("mlflow.parentRunId", parent)
    for run_id in trials:
        number = db.execute("select value from tags where run_uuid = ? and key = 'repro.trial'",
                            (run_id,)).fetchone()[0]
        row = study["trials"][int(number)]
        params = dict(db.execute("select key, value from params where run_uuid = ?", (run_id,)))
        assert params == {k: str(v) for k, v in row["params"].items()}
        steps = [s for (s,) in db.execute("select step from metrics where run_uuid = ? and "
                                          "key = 'val_loss' order by step", (run_id,))]
        assert steps == sorted(int(s) for s in row["intermediate"])
    assert db.execute("select status from runs where run_uuid = ?", (parent,)).fetchone()[0] \
        == "FINISHED"


def test_two_worker_processes_share_the_journal(tmp_path, data_root):
    from runners.search.worker import run

    spec = sweep_params()["specs"]["sweep"]
    root = fresh(tmp_path, data_root, "workers")
    (root / "params.yaml").write_text(yaml.safe_dump(sweep_params(), sort_keys=False))
    study = run("sweep", spec, root, workers=2)
    done = [t for t in study["trials"] if t["state"] in ("COMPLETE", "PRUNED")]
    assert len(done) == 4 and len({t["number"] for t in done}) == 4
    assert all(t.get("surplus") for t in study["trials"] if t not in done)
    # the second worker samples with its own seed: not the first worker's points again
    assert len({json.dumps(t["params"], sort_keys=True) for t in done}) == 4
    assert (root / "runs/sweep/study/journal.log").is_file()
