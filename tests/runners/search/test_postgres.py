"""Many workers on one study in a real PostgreSQL server, started here as an unprivileged user:
no trial lost or counted twice, even when a worker is SIGKILLed mid-trial."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_user(cmd: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: run it as the postgres user then."""
    if os.geteuid() != 0:
        return cmd
    return ["runuser", "-u", "postgres", "--", *cmd]


@pytest.fixture(scope="module")
def postgres_url():
    for tool in ("initdb", "pg_ctl", "postgres"):
        assert shutil.which(tool), f"PostgreSQL is not installed: {tool} is not on the PATH"
    base = Path(tempfile.mkdtemp(prefix="repro-pg-"))
    data = base / "data"
    base.chmod(0o755)
    if os.geteuid() == 0:
        shutil.chown(base, "postgres")
    port = _free_port()
    subprocess.run(_as_user(["initdb", "-D", str(data), "-A", "trust", "-U", "postgres"]),
                   check=True, capture_output=True, cwd=base)
    subprocess.run(_as_user([
        "pg_ctl", "-D", str(data), "-l", str(base / "log"), "-w", "-o",
        f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c max_connections=100", "start",
    ]), check=True, capture_output=True, cwd=base)
    try:
        yield f"postgresql+psycopg2://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(_as_user(["pg_ctl", "-D", str(data), "-m", "immediate", "stop"]),
                       capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


def _study(url: str, name: str):
    import optuna

    from runners.search import drive

    return optuna.create_study(study_name=name, storage=drive.open_storage(None, url))


def _workers(url: str, name: str, target: int, seconds: float, n: int = 4):
    env = {**os.environ, "REPRO_SEARCH_HEARTBEAT": "1", "PYTHONPATH": str(ROOT)}
    return [subprocess.Popen(
        [sys.executable, "-m", "tests.runners.search.cheap_worker", url, name, str(target),
         str(seconds)], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True) for _ in range(n)]


def _finish(procs, timeout: float = 120) -> list[tuple[int, str, str]]:
    out = []
    for p in procs:
        stdout, stderr = p.communicate(timeout=timeout)
        out.append((p.returncode, stdout, stderr))
    return out


def test_four_workers_forty_trials(postgres_url):
    from optuna.trial import TrialState

    os.environ["REPRO_SEARCH_HEARTBEAT"] = "1"
    study = _study(postgres_url, "four-by-ten")
    results = _finish(_workers(postgres_url, "four-by-ten", 40, 0.05))
    for code, _, err in results:
        assert code == 0, err
        assert "lock" not in err.lower() and "deadlock" not in err.lower(), err
    trials = study.get_trials()
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    assert len(complete) == 40
    assert len({t.number for t in complete}) == 40 and len({t.params["x"] for t in complete}) == 40
    assert all(t.user_attrs.get("surplus") for t in trials if t.state != TrialState.COMPLETE)
    ran = [int(out.split("ran ")[-1]) for _, out, _ in results]
    assert all(r > 0 for r in ran) and sum(ran) == len(trials)


def test_a_killed_worker_trial_is_failed_and_retried(postgres_url):
    from optuna.trial import TrialState

    os.environ["REPRO_SEARCH_HEARTBEAT"] = "1"
    study = _study(postgres_url, "killed")
    procs = _workers(postgres_url, "killed", 12, 1.0)
    victim = procs[0]
    started = ""
    deadline = time.monotonic() + 60
    while "start" not in started and time.monotonic() < deadline:  # mid-trial, surely
        started = victim.stdout.readline()
    time.sleep(0.3)
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    results = _finish(procs[1:])
    for code, _, err in results:
        assert code == 0, err
    trials = study.get_trials()
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    assert len(complete) == 12  # the requested number, none lost
    killed = [t for t in trials if t.state == TrialState.FAIL and not t.user_attrs.get("surplus")]
    assert len(killed) == 1, [(t.number, t.state, t.user_attrs) for t in trials]
    retry = [t for t in trials if t.system_attrs.get("failed_trial") == killed[0].number]
    assert len(retry) == 1 and retry[0].state == TrialState.COMPLETE
    assert retry[0].params == killed[0].params  # the same point, counted once
