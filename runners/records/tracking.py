"""MLflow logging for the train and evaluate stages.

One MLflow run per stage, grouped under one parent run per spec (found by the tags
``repro.spec=<name>`` and ``repro.role=spec``, created when absent). MLflow is
imported only when tracking is on, and then only in a tracking process beside the stage
(``StageRun``), so a stage starts its work without waiting for it. Nothing here may break
a stage: the first failure prints one warning and turns tracking off for the rest of the
run, while the stage's own outputs are written regardless.

Tracking URI: env ``MLFLOW_TRACKING_URI`` > the spec's ``tracking.tracking_uri`` >
``sqlite:///<workspace>/mlflow.db``. A new experiment on a local store gets the
artifact location ``<workspace>/mlartifacts``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import queue
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from repro.contract.secrets import redact, scrub

TAG_SPEC = "repro.spec"
TAG_ROLE = "repro.role"
TAG_STAGE = "repro.stage"
PARENT_TAG = "mlflow.parentRunId"
DB_FILE = "mlflow.db"
ARTIFACTS_DIR = "mlartifacts"


def tracking_uri(tracking: dict[str, Any], root: Path) -> str:
    env = os.environ.get("MLFLOW_TRACKING_URI")
    if env:
        return env
    if tracking.get("tracking_uri"):
        return expand_env(str(tracking["tracking_uri"]))
    return f"sqlite:///{(root / DB_FILE).resolve().as_posix()}"


def expand_env(text: str) -> str:
    """``${NAME}`` -> the environment variable NAME (how a spec names a credential)."""
    def sub(m: re.Match[str]) -> str:
        if m.group(1) not in os.environ:
            raise ValueError(f"tracking_uri: environment variable {m.group(1)} is not set")
        return os.environ[m.group(1)]

    return re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", sub, text)


def flatten(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1}}`` -> ``{"a.b": 1}``; lists and None become strings."""
    out: dict[str, Any] = {}
    for key, value in d.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            out.update(flatten(value, dotted + "."))
        else:
            out[dotted] = value
    return out


def _quiet() -> None:
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")
    for name in ("mlflow", "alembic", "sqlalchemy"):
        logging.getLogger(name).setLevel(logging.WARNING)


class StageRun:
    """The MLflow run of one stage, kept by a tracking process; every method is a no-op
    once tracking is off.

    The stage never imports MLflow (about 2-3 s with its SQL store, before any work):
    ``start`` spawns ``python -c 'from runners.records.tracking import serve; serve()'``
    and hands it the run to open; metrics and the final files follow over its stdin,
    written by a thread, so the stage never waits on MLflow until ``finish``. On 2 cores
    the tracking process imports MLflow on the core the stage leaves idle (torch threads
    are pinned). A failure in it prints one warning here and turns tracking off; if the
    stage dies, the tracking process sees its stdin close and marks the run FAILED.
    """

    def __init__(self) -> None:
        self._proc: subprocess.Popen | None = None
        self._outbox: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._opened = threading.Event()
        self._done = threading.Event()
        self._reader: threading.Thread | None = None
        self._run_id: str | None = None
        self._warned = False
        self.uri: str | None = None  # secrets masked

    @classmethod
    def start(
        cls,
        *,
        spec: dict[str, Any],
        name: str,
        stage: str,
        root: Path,
        params: dict[str, Any],
        tags: dict[str, str | None],
    ) -> StageRun:
        """Open the run (``spec`` resolved, ``params`` the flat params to record)."""
        run = cls()
        tracking = spec.get("tracking") or {}
        if not tracking.get("mlflow", True):
            return run
        run._guard(lambda: run._spawn(tracking, name, stage, Path(root), params, tags))
        return run

    @property
    def run_id(self) -> str | None:
        """The MLflow run id (waits for the tracking process to open the run); None when off."""
        if self._proc is None and not self._opened.is_set():
            return None
        if not self._opened.wait(OPEN_TIMEOUT_S):
            self._warn(f"no run opened within {OPEN_TIMEOUT_S} s")
        return self._run_id

    def _spawn(self, tracking, name, stage, root, params, tags) -> None:
        uri = tracking_uri(tracking, root)
        self.uri = scrub(uri)
        self._proc = subprocess.Popen(
            [sys.executable, "-c", SERVE], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            text=True, encoding="utf-8", env={**os.environ, "PYTHONPATH": _pythonpath()},
        )
        self._send({
            "op": "open", "uri": uri, "experiment": tracking.get("experiment") or "repro",
            "root": str(root.resolve()), "name": name, "stage": stage,
            "params": {k: _param_value(v) for k, v in sorted(redact(params).items())},
            "tags": {k: scrub(str(v)) for k, v in tags.items() if v is not None},
        })
        proc = self._proc
        threading.Thread(target=self._write, args=(proc,), daemon=True).start()
        self._reader = threading.Thread(target=self._read, args=(proc,), daemon=True)
        self._reader.start()

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        if self._proc is None:
            return
        self._send({"op": "metrics", "metrics": {k: float(v) for k, v in metrics.items()},
                    "step": step or 0, "ts": int(time.time() * 1000)})

    def finish(self, files: Iterable[Path] = (), failed: bool = False) -> None:
        """Log ``files`` as artifacts (unless ``failed``), end the run, wait for the process."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        self._outbox.put({"op": "finish", "files": [str(f) for f in files], "failed": failed})
        self._outbox.put(None)  # then close its stdin
        try:
            rc = proc.wait(FINISH_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            self._warn(f"the tracking process did not finish within {FINISH_TIMEOUT_S} s")
            return
        self._reader.join(5)
        if rc != 0 or not self._done.is_set():
            self._warn(f"the tracking process exited with status {rc}")

    def _send(self, message: dict[str, Any]) -> None:
        self._outbox.put(message)

    def _write(self, proc: subprocess.Popen) -> None:
        """Thread: the outbox into the tracking process's stdin (the stage never blocks)."""
        try:
            while (message := self._outbox.get()) is not None:
                proc.stdin.write(json.dumps(message) + "\n")
                proc.stdin.flush()
        except (OSError, ValueError):
            pass  # it died: its exit status says so
        finally:
            with contextlib.suppress(OSError):
                proc.stdin.close()

    def _read(self, proc: subprocess.Popen) -> None:
        """Thread: the tracking process's answers (run id, errors, done)."""
        for line in proc.stdout:
            answer = json.loads(line)
            if "error" in answer:
                self._warn(answer["error"])
            if "opened" in answer:
                self._run_id = answer["opened"]
                self._opened.set()
            if answer.get("done"):
                self._done.set()
        self._opened.set()

    def _guard(self, fn: Callable[[], None]) -> None:
        try:
            fn()
        except Exception as e:  # tracking must never take a stage down
            text = scrub(str(e)).strip().splitlines()
            self._warn(text[0] if text else type(e).__name__)
            self._proc = None

    def _warn(self, text: str) -> None:
        if not self._warned:
            self._warned = True
            print(f"warning: MLflow tracking off: {text}", file=sys.stderr)


OPEN_TIMEOUT_S = 300
FINISH_TIMEOUT_S = 600
SERVE = "from runners.records.tracking import serve; serve()"


def _pythonpath() -> str:
    """This project first, so the tracking process imports the same ``runners``."""
    here = str(Path(__file__).resolve().parents[2])
    rest = os.environ.get("PYTHONPATH")
    return here + (os.pathsep + rest if rest else "")


def serve() -> None:
    """The tracking process: JSON lines on stdin (open, metrics..., finish) -> MLflow.

    Answers on stdout: ``{"opened": run_id}``, ``{"error": text}`` (then it only drains its
    input), ``{"done": true}``. Its stdin closing before ``finish`` marks the run FAILED.
    """
    answers = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)  # whatever MLflow prints goes to stderr, never into the answers
    sys.stdout = sys.stderr

    def answer(**fields: Any) -> None:
        answers.write(json.dumps(fields) + "\n")
        answers.flush()

    client = run_id = None
    for line in sys.stdin:
        message = json.loads(line)
        op = message["op"]
        try:
            if op == "open":
                client, run_id = _open(message)
                answer(opened=run_id)
            elif client is None:  # tracking off: drain, but say when done
                if op == "finish":
                    answer(done=True)
                continue
            elif op == "metrics":
                from mlflow.entities import Metric

                batch = [Metric(k, v, message["ts"], message["step"])
                         for k, v in message["metrics"].items()]
                client.log_batch(run_id, metrics=batch)
            elif op == "finish":
                if not message["failed"]:
                    for f in message["files"]:
                        client.log_artifact(run_id, f)
                client.set_terminated(run_id, "FAILED" if message["failed"] else "FINISHED")
                client = None
                answer(done=True)
        except Exception as e:
            text = scrub(str(e)).strip().splitlines()
            answer(error=text[0] if text else type(e).__name__)
            if op == "open":
                answer(opened=None)
            client = None
            if op == "finish":
                answer(done=True)
    if client is not None:  # the stage died before finishing
        with contextlib.suppress(Exception):
            client.set_terminated(run_id, "FAILED")


def _open(m: dict[str, Any]):
    _quiet()
    from mlflow.entities import Param
    from mlflow.tracking import MlflowClient

    _quiet()
    client = MlflowClient(tracking_uri=m["uri"])
    experiment_id = _experiment(client, m["experiment"], m["uri"], Path(m["root"]))
    parent = _parent_run(client, experiment_id, m["name"])
    all_tags = {
        TAG_SPEC: m["name"],
        TAG_ROLE: "stage",
        TAG_STAGE: m["stage"],
        PARENT_TAG: parent,
        **m["tags"],
    }
    run = client.create_run(experiment_id, run_name=f"{m['name']}/{m['stage']}", tags=all_tags)
    run_id = run.info.run_id
    flat = [Param(k, v) for k, v in m["params"].items()]
    for i in range(0, len(flat), 100):  # MLflow takes at most 100 params per batch
        client.log_batch(run_id, params=flat[i : i + 100])
    return client, run_id


def _param_value(v: Any) -> str:
    return str(v)[:6000]


def _is_local(uri: str) -> bool:
    return uri.startswith(("sqlite:", "file:")) or "://" not in uri


def _experiment(client, name: str, uri: str, root: Path) -> str:
    exp = client.get_experiment_by_name(name)
    if exp is not None:
        return exp.experiment_id
    location = (root / ARTIFACTS_DIR).resolve().as_uri() if _is_local(uri) else None
    return client.create_experiment(name, artifact_location=location)


def _parent_run(client, experiment_id: str, name: str) -> str:
    quoted = name.replace("'", "\\'")
    found = client.search_runs(
        [experiment_id],
        filter_string=f"tags.`{TAG_SPEC}` = '{quoted}' and tags.`{TAG_ROLE}` = 'spec'",
        max_results=1,
    )
    if found:
        return found[0].info.run_id
    parent = client.create_run(
        experiment_id, run_name=name, tags={TAG_SPEC: name, TAG_ROLE: "spec"}
    )
    client.set_terminated(parent.info.run_id, "FINISHED")
    return parent.info.run_id
