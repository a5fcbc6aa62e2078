"""Live progress and ``repro show``'s staleness on a real build: one tiny spec, built twice.

1. ``repro --json run``: stdout is exactly the JSON result; the plain progress lines
   (``stage k/N: <stage>``) go to stderr, each as its stage starts.
2. ``repro show``: up to date, then stale naming the param that changed (as ``dvc status``
   agrees once compiled), an output modified, a failed stage.
3. ``repro run`` on a terminal (a pseudo-terminal): the live view shows ``stage k/N`` within
   2 s of DVC starting the stage, then the training bar with loss and throughput.
"""

from __future__ import annotations

import json
import os
import pty
import re
import select
import subprocess
import sys
import threading
import time
from pathlib import Path

from tests.conftest import make_workspace
from tests.specs import spec

ENV = {**os.environ, "DVC_NO_ANALYTICS": "1", "NO_COLOR": "1", "GIT_AUTHOR_NAME": "t",
       "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}
ENV.pop("MLFLOW_TRACKING_URI", None)
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def sh(*cmd: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=cwd, env=env or ENV, capture_output=True, text=True)


def timed_run(cmd: list[str], cwd: Path) -> tuple[int, str, list[tuple[float, str]]]:
    """Run ``cmd``; its stdout, and each stderr line with the time it arrived."""
    proc = subprocess.Popen(cmd, cwd=cwd, env=ENV, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    lines: list[tuple[float, str]] = []

    def read() -> None:
        for line in proc.stderr:
            lines.append((time.monotonic(), line.rstrip("\n")))

    t = threading.Thread(target=read)
    t.start()
    out = proc.stdout.read()
    proc.wait(timeout=600)
    t.join()
    return proc.returncode, out, lines


def pty_run(cmd: list[str], cwd: Path) -> tuple[int, list[tuple[float, str]]]:
    """Run ``cmd`` on a pseudo-terminal; what it drew, in timed chunks (ANSI codes removed)."""
    master, slave = pty.openpty()
    env = {**ENV, "COLUMNS": "120", "LINES": "40", "TERM": "xterm"}
    env.pop("NO_COLOR")
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdin=slave, stdout=slave, stderr=slave)
    os.close(slave)
    chunks: list[tuple[float, str]] = []
    while True:
        ready, _, _ = select.select([master], [], [], 0.1)
        if ready:
            try:
                data = os.read(master, 65536)
            except OSError:
                break
            if not data:
                break
            chunks.append((time.monotonic(), ANSI.sub("", data.decode("utf-8", "replace"))))
        elif proc.poll() is not None:
            break
    os.close(master)
    return proc.wait(timeout=60), chunks


def first(chunks: list[tuple[float, str]], needle: str) -> float:
    return next(t for t, text in chunks if needle in text)


def show(ws: Path) -> dict:
    proc = sh(sys.executable, "-m", "repro.cli", "show", "--json", cwd=ws)
    assert proc.returncode == 0, proc.stderr
    return {r["spec"]: r for r in json.loads(proc.stdout)}


def test_progress_never_pollutes_json_and_show_says_why_stale(tmp_path):
    ws = make_workspace(tmp_path, {"pre.yaml": spec("pretrain", train={"max_steps": 40})})
    (ws / ".gitignore").write_text("/runs/\n/mlflow.db\n/.repro/\n")
    assert sh("git", "init", "-q", cwd=ws).returncode == 0
    assert sh(sys.executable, "-m", "dvc", "init", "-q", cwd=ws).returncode == 0
    assert show(ws)["pre"]["status"] == "not built"

    # 1. --json: nothing but the JSON on stdout; progress lines on stderr as stages start
    code, out, err = timed_run([sys.executable, "-m", "repro.cli", "--json", "run"], ws)
    assert code == 0, out + "\n".join(text for _, text in err)
    result = json.loads(out)
    assert result["failed"] == [] and len(result["ran"]) == 3
    texts = [text for _, text in err]
    for k, stage in enumerate(result["ran"], 1):
        mine = next(i for i, text in enumerate(texts) if text.startswith(f"stage {k}/3: {stage}"))
        dvc = texts.index(f"Running stage '{stage}':")
        assert mine < dvc and err[dvc][0] - err[mine][0] < 2.0
    assert any(text.startswith("step 40/40") and "eta" in text for text in texts)

    # 2. show: up to date; a spec edit makes it stale and says which field
    rows = show(ws)
    assert rows["pre"]["status"] == "up to date" and rows["pre"]["why"] == []
    assert rows["pre"]["scores"]["perplexity"] == result["specs"][0]["metrics"]["perplexity"]
    spec_file = ws / "specs" / "pre.yaml"
    spec_file.write_text(spec_file.read_text().replace("max_steps: 40", "max_steps: 41"))
    rows = show(ws)
    assert rows["pre"]["status"] == "stale"
    assert rows["pre"]["why"] == ["train-pre: param specs.pre.train.max_steps 40 -> 41"]
    table = sh(sys.executable, "-m", "repro.cli", "show", cwd=ws).stdout
    assert "stale: train.max_steps 40 -> 41" in table
    assert sh(sys.executable, "-m", "repro.cli", "compile", cwd=ws).returncode == 0
    status = sh(sys.executable, "-m", "dvc", "status", "--json", cwd=ws).stdout
    assert set(json.loads(status)) == {"train-pre"}  # DVC agrees on the cause
    stages = show(ws)["pre"]["stages"]
    assert stages["train-pre"]["state"] == stages["evaluate-pre"]["state"] == "stale"
    assert stages["evaluate-pre"]["reasons"] == ["upstream train-pre is stale"]

    # an output changed by hand; a stage whose last run failed
    spec_file.write_text(spec_file.read_text().replace("max_steps: 41", "max_steps: 40"))
    assert sh(sys.executable, "-m", "repro.cli", "compile", cwd=ws).returncode == 0
    assert show(ws)["pre"]["status"] == "up to date"
    metrics = ws / "runs" / "pre" / "metrics.json"
    saved = metrics.read_text()
    metrics.write_text(saved.replace("{", '{"x": 1, ', 1))
    assert show(ws)["pre"]["why"] == ["evaluate-pre: output runs/pre/metrics.json modified"]
    (ws / ".repro" / "last-run.json").write_text('{"stages": {"evaluate-pre": "failed"}}')
    assert show(ws)["pre"]["status"] == "failed"
    metrics.write_text(saved)
    assert show(ws)["pre"]["status"] == "up to date"  # rebuilt (restored) since: not failed

    # 3. on a terminal: the live view, within 2 s of DVC starting a stage
    spec_file.write_text(spec_file.read_text().replace("max_steps: 40", "max_steps: 240"))
    code, chunks = pty_run([sys.executable, "-m", "repro.cli", "run"], ws)
    text = "".join(c for _, c in chunks)
    assert code == 0, text
    assert abs(first(chunks, "stage 2/3") - first(chunks, "Running stage 'train-pre'")) < 2.0
    assert re.search(r"\d+/240 steps\s+loss \d+\.\d+\s+[\d.]+ steps/s\s+[\d.]+k tok/s\s+ETA",
                     text), text[-3000:]
    assert "✓ stage 2/3 train-pre done in" in text and "✓ stage 3/3 evaluate-pre" in text
    assert "step 240/240" not in text  # the stages' plain lines give way to the live view
    assert show(ws)["pre"]["status"] == "up to date"
