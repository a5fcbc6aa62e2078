"""A busy workspace, with two real processes: the second writer says who holds the workspace
and exits 3 (or waits, visibly); readers keep working; nothing is reported as failed."""

from __future__ import annotations

import json
import subprocess
import sys
import time

from tests.conftest import TINY_PRETRAIN, make_workspace

HOLDER = """
import sys, time
from pathlib import Path
from repro.pipeline.busy import hold
with hold(Path(sys.argv[1]), "run"):
    print("held", flush=True)
    time.sleep(float(sys.argv[2]))
"""


def _repro(ws, *args, timeout=60):
    return subprocess.run([sys.executable, "-m", "repro.cli", "-C", str(ws), *args],
                          capture_output=True, text=True, timeout=timeout)


def _hold(ws, seconds):
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(ws), str(seconds)],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_a_second_writer_is_told_who_holds_the_workspace(tmp_path):
    ws = make_workspace(tmp_path, {"pre.yaml": TINY_PRETRAIN})
    (ws / ".dvc").mkdir()
    holder = _hold(ws, 30)
    try:
        for args in (["run", "pre"], ["compile"], ["--json", "run"]):
            proc = _repro(ws, *args)
            assert proc.returncode == 3, proc.stderr
            assert f"the workspace is busy: 'repro run' (pid {holder.pid}, since " in proc.stderr
            assert "FAILED" not in proc.stdout + proc.stderr
            assert "Traceback" not in proc.stderr
        assert not (ws / "dvc.yaml").exists()  # compile waited its turn: nothing written
        # readers keep working
        assert _repro(ws, "validate").returncode == 0
        assert _repro(ws, "show").returncode == 0
        assert _repro(ws, "compile", "--check").returncode == 1  # stale, but it answered
        # a visible, bounded wait
        t0 = time.monotonic()
        proc = _repro(ws, "compile", "--wait", "1.5")
        assert proc.returncode == 3 and time.monotonic() - t0 >= 1.5
        assert "waiting for 'repro run'" in proc.stderr and "gave up after waiting" in proc.stderr
    finally:
        holder.kill()
        holder.wait()
    # the holder is gone (even killed): the lock went with it
    proc = _repro(ws, "compile", "--wait", "5")
    assert proc.returncode == 0, proc.stderr
    assert (ws / "dvc.yaml").exists()


def test_a_waiting_writer_goes_on_when_the_holder_finishes(tmp_path):
    ws = make_workspace(tmp_path, {"pre.yaml": TINY_PRETRAIN})
    (ws / ".dvc").mkdir()
    holder = _hold(ws, 1.5)
    proc = _repro(ws, "compile", "--wait", "30")
    holder.wait()
    assert proc.returncode == 0, proc.stderr
    assert "waiting for 'repro run'" in proc.stderr
    assert json.loads((ws / ".dvc" / "tmp" / "repro.lock").read_text() or "{}") == {}
