"""The warm worker: stages forked from one process that imported the ML stack once write the
same bytes as stages run in their own processes, and the worker goes away with the run."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from repro.contract.worker import OFF_ENV, OWNER_ENV, WORKER_ENV
from runners import warm
from tests.conftest import ROOT


def _init_and_run(ws: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    run = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "PYTHONPATH": str(ROOT), **env}
    for k in (WORKER_ENV, OWNER_ENV, OFF_ENV):
        if k not in env:
            run.pop(k, None)
    subprocess.run([sys.executable, "-m", "repro.cli", "init", str(ws)], env=run, check=True,
                   capture_output=True)
    return subprocess.run([sys.executable, "-m", "repro.cli", "run"], cwd=ws, env=run,
                          capture_output=True, text=True)


def _outputs(ws: Path) -> dict[str, bytes]:
    return {str(p.relative_to(ws)): p.read_bytes() for p in sorted((ws / "runs").rglob("*"))
            if p.is_file() and not p.name.endswith(".run.json")}


def test_stages_in_the_worker_write_the_same_bytes(tmp_path):
    sock = tmp_path / "w" / "worker.sock"
    sock.parent.mkdir()
    warm_run = _init_and_run(tmp_path / "warm", {WORKER_ENV: str(sock)})
    cold_run = _init_and_run(tmp_path / "cold", {OFF_ENV: "1"})
    assert warm_run.returncode == 0, warm_run.stderr
    assert cold_run.returncode == 0, cold_run.stderr
    # the first stage started the worker; its stages ran there and printed as usual
    assert Path(f"{sock}.started").exists()
    assert "trained starter" in warm_run.stdout
    assert _outputs(tmp_path / "warm") == _outputs(tmp_path / "cold")
    pid = int(Path(f"{sock}.pid").read_text())
    os.kill(pid, 15)
    for _ in range(100):
        if not sock.exists():
            break
        time.sleep(0.1)
    assert not sock.exists()


def test_only_single_stage_processes_are_handed_off(monkeypatch, tmp_path):
    monkeypatch.setenv(WORKER_ENV, str(tmp_path / "none.sock"))
    tried = []
    monkeypatch.setattr(warm, "_connect", lambda path: tried.append(path))
    warm.handoff(["python", "-m", "runners.plan", "x"])  # not a stage
    warm.handoff(["python", "script.py"])
    monkeypatch.setenv("WORLD_SIZE", "2")  # one rank of `accelerate launch`
    warm.handoff(["python", "-m", "runners.train", "x"])
    assert tried == []
    monkeypatch.setenv("WORLD_SIZE", "1")
    warm.handoff(["python", "-m", "runners.train", "x"])  # no worker answers: runs here
    assert tried == [str(tmp_path / "none.sock")]
