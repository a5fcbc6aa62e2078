"""MLflow as a view of the workspace, against a real ``mlflow server`` process: parent runs
with metrics and gates, stage runs with datasets, source tags, curves and the model."""

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from runners.evaluate import evaluate
from runners.train import train
from tests.runners.conftest import base_params

pytestmark = pytest.mark.filterwarnings("ignore:.*noload.*:DeprecationWarning")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def mlflow_server(tmp_path):
    """A real ``mlflow server`` on a free port, with a temp SQLite backend and artifact root."""
    port = _free_port()
    store = tmp_path / "server"
    store.mkdir()
    proc = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port),
         "--backend-store-uri", f"sqlite:///{store / 'mlflow.db'}",
         "--artifacts-destination", str(store / "artifacts"), "--workers", "1"],
        stdout=subprocess.DEVNULL, stderr=open(store / "server.log", "w"),  # noqa: SIM115
        env={**os.environ, "MLFLOW_LOGGING_LEVEL": "WARNING"},
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as r:
                if r.status == 200:
                    break
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise AssertionError("mlflow server did not start: "
                                 + (store / "server.log").read_text()[-2000:])
        time.sleep(0.5)
    yield url
    proc.terminate()
    proc.wait(30)


def _spec(lr: float) -> dict:
    spec = base_params()["specs"]["sft-full"]
    spec["train"]["max_steps"] = 12
    spec["train"]["log_every"] = 4
    spec["train"]["optimizer"]["lr"] = lr
    spec["evaluate"]["compare_base"] = False
    spec["tracking"] = {"mlflow": True, "tracking_uri": None, "experiment": "views",
                        "log_model": True, "register_model": "tiny-sft", "wandb": None}
    return spec


def test_views_on_a_tracking_server(pretrained, tmp_path, monkeypatch, mlflow_server):
    import mlflow
    from mlflow.tracking import MlflowClient

    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server)
    root = tmp_path / "ws"
    shutil.copytree(pretrained / "runs/_data", root / "runs/_data")
    shutil.copytree(pretrained / "runs/pre/model", root / "runs/pre/model")
    (root / "specs").mkdir()
    (root / "specs/fast.yaml").write_text("description: the fast one\n", encoding="utf-8")
    for name, lr in (("fast", 0.01), ("slow", 0.0005)):
        spec = _spec(lr)
        train(spec, name, root)
        if name == "fast":  # the gate check's output, read when the parent is brought up to date
            (root / "runs/fast/gates.json").write_text(json.dumps({"passed": False, "gates": [
                {"metric": "perplexity", "kind": "max", "value": 99.0, "threshold": 50.0,
                 "reference": None, "reference_value": None, "passed": False,
                 "message": "perplexity 99 > 50"}]}), encoding="utf-8")
        evaluate(spec, name, root)
    assert not (root / "mlflow.db").exists()  # everything went to the server

    client = MlflowClient(tracking_uri=mlflow_server)
    exp = client.get_experiment_by_name("views")
    runs = client.search_runs([exp.experiment_id])
    parents = {r.data.tags["repro.spec"]: r for r in runs if r.data.tags["repro.role"] == "spec"}
    stages = {(r.data.tags["repro.spec"], r.data.tags["repro.stage"]): r
              for r in runs if r.data.tags["repro.role"] == "stage"}
    assert set(parents) == {"fast", "slow"} and len(stages) == 4

    # the parent run of a spec: headline metrics, params, gates, description, stage links
    fast = parents["fast"]
    metrics = json.loads((root / "runs/fast/metrics.json").read_text())
    assert fast.data.metrics["perplexity"] == pytest.approx(metrics["perplexity"])
    assert fast.data.metrics["train.last_loss"] > 0
    assert fast.data.metrics["gates.passed"] == 0.0
    assert fast.data.tags["repro.gates"] == "failed"
    assert fast.data.params["train.optimizer.lr"] == "0.01"
    note = fast.data.tags["mlflow.note.content"]
    assert note.startswith("the fast one")
    assert "| perplexity | max | 99.0 | 50.0 |" in note
    for stage in ("train", "evaluate"):
        rid = stages[("fast", stage)].info.run_id
        assert fast.data.tags[f"repro.run.{stage}"] == rid
        assert f"#/experiments/{exp.experiment_id}/runs/{rid}" in note
    assert fast.info.end_time >= stages[("fast", "evaluate")].info.start_time
    assert "gates.json" in {a.path for a in client.list_artifacts(fast.info.run_id)}

    # stage runs: datasets with our digest, source tags, curves, spec files and the model
    tr = client.get_run(stages[("fast", "train")].info.run_id)
    key = tr.data.params["data"]
    manifest = json.loads((root / f"runs/_data/{key}/manifest.json").read_text())
    inputs = {d.dataset.name: d for d in tr.inputs.dataset_inputs}
    assert inputs[f"{key}/train"].dataset.digest == manifest["files"]["train.jsonl"][:32]
    assert json.loads(inputs[f"{key}/train"].dataset.profile)["num_rows"] == \
        manifest["rows"]["train"]
    assert {t.value for t in inputs[f"{key}/train"].tags} == {"training"}
    ev_inputs = client.get_run(stages[("fast", "evaluate")].info.run_id).inputs.dataset_inputs
    assert f"{key}/test" in {d.dataset.name for d in ev_inputs}
    tags = tr.data.tags
    assert tags["mlflow.source.type"] == "LOCAL"
    assert tags["mlflow.source.name"] == "python -m runners.train fast"
    assert tags["mlflow.project.entryPoint"] == "runners.train"
    assert tags["mlflow.user"]
    assert [m.step for m in client.get_metric_history(tr.info.run_id, "loss")] == [4, 8, 12]
    assert len(client.get_metric_history(tr.info.run_id, "lr")) == 3
    spec_files = {a.path for a in client.list_artifacts(tr.info.run_id, "spec")}
    assert spec_files == {"spec/fast.yaml", "spec/resolved.json"}
    models = client.search_logged_models([exp.experiment_id])
    fast_model = next(m for m in models if m.source_run_id == tr.info.run_id)
    assert fast_model.status.to_proto() == 2  # READY
    assert tr.outputs.model_outputs[0].model_id == fast_model.model_id
    got = tmp_path / "downloaded"
    mlflow.artifacts.download_artifacts(f"models:/{fast_model.model_id}", dst_path=str(got),
                                        tracking_uri=mlflow_server)
    assert (got / "model.safetensors").read_bytes() == \
        (root / "runs/fast/model/model.safetensors").read_bytes()
    versions = client.search_model_versions("name = 'tiny-sft'")
    assert sorted(int(v.version) for v in versions) == [1, 2]

    # specs compared by a metric, as a person would in Python
    mlflow.set_tracking_uri(mlflow_server)
    table = mlflow.search_runs([exp.experiment_id], filter_string="tags.`repro.role` = 'spec'",
                               order_by=["metrics.perplexity ASC"])
    assert list(table["tags.repro.spec"]) == sorted(
        ("fast", "slow"), key=lambda n: parents[n].data.metrics["perplexity"])
    assert (table["metrics.perplexity"] > 0).all()
