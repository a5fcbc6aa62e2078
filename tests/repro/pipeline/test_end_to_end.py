"""End to end: `repro` in a fresh git+DVC workspace trains, evaluates, logs; a second run is a no-op.

One test on purpose: it pays process start-up for every stage (each is a `python -m runners.*`).
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from tests.conftest import make_workspace
from tests.specs import spec

ENV = {**os.environ, "DVC_NO_ANALYTICS": "1", "NO_COLOR": "1", "GIT_AUTHOR_NAME": "t",
       "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}
ENV.pop("MLFLOW_TRACKING_URI", None)


def sh(*cmd: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=cwd, env=ENV, capture_output=True, text=True)


def repro(ws: Path, *args: str) -> dict:
    proc = sh(sys.executable, "-m", "repro.cli", "--json", *args, cwd=ws)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads(proc.stdout)


def test_repro_twice_then_change_one_field(tmp_path):
    sft = spec("sft", {"tracking.mlflow": True})
    ws = make_workspace(tmp_path, {"pre.yaml": spec("pretrain"), "sft.yaml": sft})
    (ws / ".gitignore").write_text("/runs/\n/mlflow.db\n/mlartifacts/\n")
    assert sh("git", "init", "-q", cwd=ws).returncode == 0
    assert sh(sys.executable, "-m", "dvc", "init", "-q", cwd=ws).returncode == 0

    first = repro(ws)
    assert sorted(first["ran"]) == sorted([
        *(s for s in first["ran"] if s.startswith("prepare-")),
        "train-pre", "evaluate-pre", "train-sft", "evaluate-sft",
    ])
    assert len([s for s in first["ran"] if s.startswith("prepare-")]) == 2
    by_spec = {s["spec"]: s for s in first["specs"]}
    pre, tuned = by_spec["pre"]["metrics"], by_spec["sft"]["metrics"]
    # pretraining learned something: far below the untrained init's perplexity
    assert pre["perplexity"] < 0.5 * pre["base"]["perplexity"]
    assert 0.0 <= tuned["exact_match"] <= 1.0
    for name in ("pre", "sft"):
        d = ws / "runs" / name
        assert (d / "model").is_dir() and (d / "metrics.json").is_file()
        lineage = json.loads((d / "train.lineage.json").read_text())
        assert lineage["spec"] == name and lineage["determinism"]["seed"] == 7

    # second run: nothing re-runs
    second = repro(ws)
    assert second["ran"] == [] and second["failed"] == []

    # change only an evaluation field: exactly that spec's evaluate stage re-runs
    make_workspace(ws, {"sft.yaml": spec("sft", {"tracking.mlflow": True, "evaluate.max_examples": 10})})
    third = repro(ws)
    assert third["ran"] == ["evaluate-sft"]

    # copy a spec and change its learning rate: only the copy's train and evaluate run
    make_workspace(ws, {"sft2.yaml": spec("sft", {"train.optimizer.lr": 2.0e-3})})
    fourth = repro(ws)
    assert sorted(fourth["ran"]) == ["evaluate-sft2", "train-sft2"]

    # plain DVC agrees that everything is up to date
    status = sh(sys.executable, "-m", "dvc", "status", cwd=ws)
    assert status.returncode == 0 and "up to date" in status.stdout, status.stdout

    # MLflow: a run per train and evaluate stage of the tracked spec, grouped under a parent
    db = sqlite3.connect(ws / "mlflow.db")
    rows = db.execute(
        "select r.name, t.value from runs r join tags t on t.run_uuid = r.run_uuid "
        "where t.key = 'repro.stage'"
    ).fetchall()
    stages = sorted(v for _, v in rows)
    assert stages == ["evaluate", "evaluate", "train"], rows
    parents = db.execute("select count(*) from tags where key = 'mlflow.parentRunId'").fetchone()
    assert parents[0] == 3


def test_failed_stage_exits_1_and_leaves_no_partial_output(tmp_path):
    bad = spec("sft", {"data.source": {"path": "data/qa.jsonl"}})
    ws = make_workspace(tmp_path, {"pre.yaml": spec("pretrain"), "sft.yaml": bad})
    (ws / "data").mkdir()
    # well-formed rows (validate's sample passes them) whose answers are all blank: cleaning
    # drops every row, so the prepare stage fails
    (ws / "data" / "qa.jsonl").write_text(
        "".join(f'{{"instruction": "{i}+1", "input": "", "output": " "}}\n' for i in range(20)))
    (ws / ".gitignore").write_text("/runs/\n")
    assert sh("git", "init", "-q", cwd=ws).returncode == 0
    assert sh(sys.executable, "-m", "dvc", "init", "-q", cwd=ws).returncode == 0

    proc = sh(sys.executable, "-m", "repro.cli", "--json", "run", "sft", cwd=ws)
    assert proc.returncode == 1, proc.stderr
    assert "data/qa.jsonl: no rows left after cleaning" in proc.stderr
    assert "Traceback" not in proc.stderr
    result = json.loads(proc.stdout)
    (failed,) = result["failed"]
    assert failed.startswith("prepare-qa-")
    key = failed.removeprefix("prepare-")
    assert not (ws / "runs" / "_data" / key).exists()
    assert not list((ws / "runs" / "_data").glob("*tmp*"))
