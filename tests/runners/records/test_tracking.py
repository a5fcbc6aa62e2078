"""MLflow tracking: runs grouped under a parent per spec; failures never break a stage."""

import json
import shutil

import pytest

from runners.evaluate import evaluate
from runners.records.tracking import flatten, tracking_uri
from runners.train import train
from tests.runners.conftest import base_params

# MLflow's SQLAlchemy store trips a deprecation inside SQLAlchemy itself
pytestmark = pytest.mark.filterwarnings("ignore:.*noload.*:DeprecationWarning")


@pytest.fixture
def tracked(pretrained, tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    root = tmp_path / "ws"
    shutil.copytree(pretrained / "runs/_data", root / "runs/_data")
    shutil.copytree(pretrained / "runs/pre/model", root / "runs/pre/model")
    spec = base_params()["specs"]["sft-full"]
    spec["train"]["max_steps"] = 20
    spec["train"]["log_every"] = 5
    spec["evaluate"]["compare_base"] = False
    spec["tracking"] = {"mlflow": True, "tracking_uri": None, "experiment": "tests"}
    return root, spec


def test_stage_runs_grouped_under_a_spec_run(tracked):
    from mlflow.tracking import MlflowClient

    root, spec = tracked
    train(spec, "tracked", root)
    evaluate(spec, "tracked", root)
    assert (root / "mlflow.db").is_file()

    client = MlflowClient(tracking_uri=f"sqlite:///{root / 'mlflow.db'}")
    exp = client.get_experiment_by_name("tests")
    assert exp.artifact_location == (root / "mlartifacts").resolve().as_uri()
    runs = client.search_runs([exp.experiment_id])
    parents = [r for r in runs if r.data.tags.get("repro.role") == "spec"]
    stages = {
        r.data.tags["repro.stage"]: r for r in runs if r.data.tags.get("repro.role") == "stage"
    }
    assert len(parents) == 1 and set(stages) == {"train", "evaluate"}
    lineage = json.loads((root / "runs/tracked/train.lineage.json").read_text())
    for run in stages.values():
        tags = run.data.tags
        assert tags["mlflow.parentRunId"] == parents[0].info.run_id
        assert tags["repro.spec"] == "tracked"
        assert tags["repro.spec_hash"] == lineage["spec_hash"]
        assert tags["repro.data_hash"] == lineage["inputs"]["data"]["data_hash"]
        assert run.info.status == "FINISHED"
        assert run.data.params["train.optimizer.lr"] == "0.005"
        assert run.data.params["dataset.source.builtin"] == "arithmetic"
    train_run = stages["train"]
    run_record = json.loads((root / "runs/tracked/train.run.json").read_text())
    assert run_record["tracking"]["mlflow_run_id"] == train_run.info.run_id
    loss = client.get_metric_history(train_run.info.run_id, "loss")
    assert [m.step for m in loss] == [5, 10, 15, 20]
    assert "final.last_loss" in train_run.data.metrics
    assert "perplexity" in stages["evaluate"].data.metrics
    artifacts = {a.path for a in client.list_artifacts(train_run.info.run_id)}
    assert {"train_metrics.json", "train.lineage.json", "train.run.json", "train_log.csv"} <= artifacts
    assert list((root / "mlartifacts").glob("*/artifacts/train_metrics.json"))
    assert not list((root / "runs").rglob("mlartifacts"))


def test_tracking_failure_leaves_outputs_intact(tracked, capsys):
    root, spec = tracked
    spec["tracking"]["tracking_uri"] = "no-such-scheme://nowhere"
    metrics = train(spec, "untracked", root)
    assert "warning: MLflow tracking off" in capsys.readouterr().err
    saved = json.loads((root / "runs/untracked/train_metrics.json").read_text())
    assert saved == metrics
    assert (root / "runs/untracked/model/model.safetensors").is_file()
    run_record = json.loads((root / "runs/untracked/train.run.json").read_text())
    assert run_record["tracking"]["mlflow_run_id"] is None


def test_tracking_off_imports_no_mlflow(pretrained, tmp_path):
    import subprocess
    import sys

    root = tmp_path / "ws"
    shutil.copytree(pretrained / "runs/_data", root / "runs/_data")
    shutil.copytree(pretrained / "runs/pre", root / "runs/pre")
    shutil.copy(pretrained / "params.yaml", root / "params.yaml")
    code = (
        "import sys; from runners.evaluate import main; rc = main(['pre']); "
        "assert 'mlflow' not in sys.modules; sys.exit(rc)"
    )
    r = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=120
    )
    assert r.returncode == 0, r.stderr
    assert not (root / "mlflow.db").exists()


def test_tracking_uri_precedence(tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert tracking_uri({}, tmp_path) == f"sqlite:///{(tmp_path / 'mlflow.db').resolve()}"
    assert tracking_uri({"tracking_uri": "sqlite:///x.db"}, tmp_path) == "sqlite:///x.db"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://localhost:5000")
    assert tracking_uri({"tracking_uri": "sqlite:///x.db"}, tmp_path) == "http://localhost:5000"


def test_flatten():
    assert flatten({"a": {"b": 1, "c": {"d": [1, 2]}}, "e": None, "f": {}}) == {
        "a.b": 1,
        "a.c.d": [1, 2],
        "e": None,
        "f": {},
    }


def test_tracking_uri_takes_credentials_from_the_environment(monkeypatch, tmp_path):
    from runners.records.tracking import tracking_uri

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setenv("REPRO_TEST_PW", "s3cret")
    spec_uri = {"tracking_uri": "http://alice:${REPRO_TEST_PW}@mlflow.example/"}
    assert tracking_uri(spec_uri, tmp_path) == "http://alice:s3cret@mlflow.example/"


def test_a_copied_or_moved_workspace_keeps_its_own_artifacts(tracked, tmp_path):
    import subprocess

    from mlflow.tracking import MlflowClient

    root, spec = tracked
    spec["tracking"]["log_model"] = False
    train(spec, "tracked", root)
    copy = tmp_path / "ws2"
    subprocess.run(["cp", "-a", str(root), str(copy)], check=True)
    before = sorted(p.relative_to(root) for p in (root / "mlartifacts").rglob("*"))
    evaluate(spec, "tracked", copy)

    # the original is untouched; the copy's store names only its own artifacts
    assert sorted(p.relative_to(root) for p in (root / "mlartifacts").rglob("*")) == before
    client = MlflowClient(tracking_uri=f"sqlite:///{copy / 'mlflow.db'}")
    exp = client.get_experiment_by_name("tests")
    own = (copy / "mlartifacts").resolve().as_uri()
    assert exp.artifact_location == own
    runs = client.search_runs([exp.experiment_id])
    assert len(runs) == 3 and all(r.info.artifact_uri.startswith(own + "/") for r in runs)
    ev = next(r for r in runs if r.data.tags.get("repro.stage") == "evaluate")
    assert list((copy / "mlartifacts").glob(f"**/{ev.info.run_id}/artifacts/metrics.json"))

    # moved: the runs logged before the move still show their artifacts
    moved = tmp_path / "ws3"
    copy.rename(moved)
    spec["evaluate"]["max_new_tokens"] = spec["evaluate"]["max_new_tokens"] + 1
    evaluate(spec, "tracked", moved)
    client = MlflowClient(tracking_uri=f"sqlite:///{moved / 'mlflow.db'}")
    tr = next(r for r in client.search_runs([exp.experiment_id])
              if r.data.tags.get("repro.stage") == "train")
    assert "train_metrics.json" in {a.path for a in client.list_artifacts(tr.info.run_id)}
