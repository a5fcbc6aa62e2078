"""Two CPU processes under `accelerate launch` (gloo): the run learns, and its log,
metrics and MLflow run are written once, by rank 0."""

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from repro.pipeline.graph import train_command
from tests.runners.conftest import base_params, write_params

ROOT = Path(__file__).resolve().parents[3]
pytestmark = pytest.mark.filterwarnings("ignore:.*noload.*:DeprecationWarning")


def test_two_processes_log_once(pretrained, tmp_path):
    from mlflow.tracking import MlflowClient

    root = tmp_path / "ws"
    shutil.copytree(pretrained / "runs/_data", root / "runs/_data")
    params = base_params()
    spec = params["specs"]["pre"]
    spec["train"].update(max_steps=30, batch_size=8, log_every=5)
    spec["train"]["distributed"] = {"processes": 2, "cpu": True, "config_file": None}
    spec["tracking"] = {"mlflow": True, "tracking_uri": None, "experiment": "ddp"}
    params["specs"] = {"ddp": spec}
    write_params(root, params)

    cmd, deps = train_command(
        SimpleNamespace(distributed=SimpleNamespace(processes=2, config_file=None)), "ddp"
    )
    assert cmd.startswith("accelerate launch ") and cmd.endswith(" -m runners.train ddp")
    assert "--num_processes 2" in cmd and deps == []
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1",
           "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    env.pop("MLFLOW_TRACKING_URI", None)
    proc = subprocess.run(cmd, shell=True, cwd=root, env=env, capture_output=True, text=True,
                          timeout=600)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert out.count("trained ddp:") == 1 and "2 processes" in out

    run_dir = root / "runs/ddp"
    metrics = json.loads((run_dir / "train_metrics.json").read_text())
    assert metrics["last_loss"] < metrics["first_loss"] - 1.0
    with open(run_dir / "train_log.csv") as f:
        rows = list(csv.reader(f))[1:]
    assert [int(r[0]) for r in rows] == [5, 10, 15, 20, 25, 30]  # once, not twice
    lineage = json.loads((run_dir / "train.lineage.json").read_text())
    assert lineage["training"]["processes"] == 2
    # each step saw 8 examples on each of the 2 processes
    assert metrics["epochs"] == pytest.approx(30 * 16 / metrics["examples"], rel=1e-5)

    client = MlflowClient(tracking_uri=f"sqlite:///{root / 'mlflow.db'}")
    exp = client.get_experiment_by_name("ddp")
    stage_runs = [r for r in client.search_runs([exp.experiment_id])
                  if r.data.tags.get("repro.role") == "stage"]
    assert len(stage_runs) == 1
    history = client.get_metric_history(stage_runs[0].info.run_id, "loss")
    assert sorted(m.step for m in history) == [5, 10, 15, 20, 25, 30]
