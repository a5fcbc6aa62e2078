"""End to end through DVC and MLflow: a forced rebuild leaves dvc.lock unchanged, `repro
verify` rebuilds from scratch and exits 0, `repro diff` reads an old revision from the DVC
cache, an unbuilt copy is one input away from the built spec however either is named, a whole
revision diff names the changed field and the metric deltas, and planted secrets appear
nowhere. One test: it pays process start-up per stage."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import yaml

from tests.conftest import make_workspace
from tests.specs import spec

SECRETS = {
    "HF_TOKEN": "hf_PlantedTokenAbcdefghijklmnop123",
    "MLFLOW_TRACKING_PASSWORD": "planted-mlflow-pw-4242",
    "MY_SERVICE_API_KEY": "planted-api-key-9876",
    "DATABASE_URL": "postgresql://alice:PlantedUriPw77@db.example/x",
}
ENV = {**os.environ, **SECRETS, "DVC_NO_ANALYTICS": "1", "NO_COLOR": "1",
       "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
       "GIT_COMMITTER_EMAIL": "t@t"}
ENV.pop("MLFLOW_TRACKING_URI", None)


def sh(*cmd: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=cwd, env=ENV, capture_output=True, text=True)


def repro(ws: Path, *args: str, code: int = 0) -> subprocess.CompletedProcess:
    proc = sh(sys.executable, "-m", "repro.cli", *args, cwd=ws)
    assert proc.returncode == code, proc.stdout + proc.stderr
    return proc


def test_rebuild_verify_diff_and_no_secrets(tmp_path):
    pre = spec("pretrain", {"tracking.mlflow": True, "train.max_steps": 10})
    ws = make_workspace(tmp_path / "ws", {"pre.yaml": pre})
    (ws / ".gitignore").write_text("/runs/\n/mlflow.db\n/mlartifacts/\n")
    assert sh("git", "init", "-q", cwd=ws).returncode == 0
    assert sh(sys.executable, "-m", "dvc", "init", "-q", cwd=ws).returncode == 0
    repro(ws, "compile")
    sh("git", "add", "-A", cwd=ws)
    assert sh("git", "commit", "-qm", "specs", cwd=ws).returncode == 0

    repro(ws)
    sh("git", "add", "dvc.lock", cwd=ws)
    assert sh("git", "commit", "-qm", "results", cwd=ws).returncode == 0

    # a forced rebuild: new run records (times), the same lineage records, the same dvc.lock
    first_run = (ws / "runs/pre/train.run.json").read_text()
    repro(ws, "run", "--force")
    assert (ws / "runs/pre/train.run.json").read_text() != first_run
    assert sh("git", "diff", "--exit-code", "dvc.lock", cwd=ws).returncode == 0

    # the committed revision against the workspace: read through dvc.lock + the DVC cache
    out = repro(ws, "diff", "--json", "HEAD:specs/pre.yaml", "pre").stdout
    d = json.loads(out)
    assert d["verdict"] == "identical" and d["a"]["stages"] == ["evaluate", "train"]

    # an MLflow run id: the records logged as that run's artifacts
    db = sqlite3.connect(ws / "mlflow.db")
    (run_id,) = db.execute(
        "select r.run_uuid from runs r join tags t on t.run_uuid = r.run_uuid where "
        "t.key = 'repro.stage' and t.value = 'evaluate' order by r.start_time desc limit 1"
    ).fetchone()
    d = json.loads(repro(ws, "diff", "--json", run_id, "runs/pre").stdout)
    assert d["verdict"] == "identical" and d["a"]["stages"] == ["evaluate", "train"]

    # verify: a scratch clone at the recorded commit rebuilds the same bits
    v = json.loads(repro(ws, "verify", "--json", "pre").stdout)
    assert v["reproduced"] and v["same_hardware"] and v["mismatches"] == []
    assert v["commit"] == sh("git", "rev-parse", "HEAD", cwd=ws).stdout.strip()  # the --force run

    # lineage as JSON names the environment lock every stage depends on
    tree = json.loads(repro(ws, "lineage", "--json", "pre").stdout)["tree"]
    assert tree["record"]["environment"]["lock"]["path"] == "env.lock"
    run_vars = tree["run"]["env_vars"]
    assert run_vars["HF_TOKEN"] == "***" and run_vars["MLFLOW_TRACKING_PASSWORD"] == "***"

    # planted secrets: nowhere in runs/, params.yaml, dvc.lock or the MLflow store
    places = [ws / "runs", ws / "params.yaml", ws / "dvc.lock", ws / "mlflow.db",
              ws / "mlartifacts"]
    files = [f for p in places for f in ([p] if p.is_file() else p.rglob("*")) if f.is_file()]
    assert any(f.name == "train.run.json" for f in files) and (ws / "mlflow.db") in files
    needles = [*SECRETS.values(), "PlantedUriPw77"]
    for f in files:
        raw = f.read_bytes()
        for needle in needles:
            assert needle.encode() not in raw, f"{needle} leaked into {f}"

    # auditing with real records: an unbuilt copy at another lr is one differing input from
    # the built result, named by spec, run directory, revision or MLflow run id
    doc = yaml.safe_load((ws / "specs/pre.yaml").read_text())
    doc["train"]["optimizer"]["lr"] *= 2
    (ws / "specs/pre2.yaml").write_text(yaml.safe_dump(doc))
    for a in ("pre", "runs/pre", "HEAD:specs/pre.yaml", run_id):
        d = json.loads(repro(ws, "diff", "--json", a, "pre2").stdout)
        assert [i["key"] for i in d["inputs"]] == ["spec.train.optimizer.lr"], (a, d["inputs"])
        assert d["b"]["built"] is False and d["verdict"] == "inputs differ"
    (ws / "specs/pre2.yaml").unlink()

    # a whole revision: change the lr, build, commit; the diff names the cause and the deltas
    (ws / "specs/pre.yaml").write_text(yaml.safe_dump(doc))
    repro(ws)
    sh("git", "add", "-A", cwd=ws)
    assert sh("git", "commit", "-qm", "lr", cwd=ws).returncode == 0
    d = json.loads(repro(ws, "diff", "--json", "HEAD~1", "HEAD").stdout)
    (pre,) = [r for r in d["results"] if r["status"] != "unchanged"]
    assert pre["causes"] == {"spec": ["spec.train.optimizer.lr"]}
    assert pre["built"] == {"a": "fresh", "b": "fresh"}
    ppl = next(m for m in pre["metrics"] if m["key"] == "metrics.perplexity")
    assert ppl["delta"] and ppl["a"] and ppl["b"]
