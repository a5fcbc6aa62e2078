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
    return default_uri(root)


def default_uri(root: Path) -> str:
    """The workspace's own store: ``sqlite:///<workspace>/mlflow.db``."""
    return f"sqlite:///{(Path(root) / DB_FILE).resolve().as_posix()}"


def source_tags(root: Path, stage: str, name: str, git: dict[str, Any],
                command: str | None) -> dict[str, str | None]:
    """MLflow's standard tags, so the UI's Source, Version and User columns say what ran."""
    import getpass

    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = None
    dirty = git.get("dirty")
    return {
        "mlflow.source.type": "LOCAL",
        "mlflow.source.name": command or f"python -m runners.{stage} {name}",
        "mlflow.source.git.commit": git.get("commit"),
        "mlflow.project.entryPoint": f"runners.{stage}",
        "mlflow.user": user,
        "repro.git_dirty": None if dirty is None else str(bool(dirty)).lower(),
        "repro.git_diff_sha256": git.get("diff_sha256"),
    }


MAX_DIFF_CHARS = 1 << 20


def _diff(root: Path) -> str | None:
    from repro.contract.git import uncommitted_diff

    diff = uncommitted_diff(root)
    return diff[:MAX_DIFF_CHARS] if diff else None


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
        manifest: dict[str, Any] | None = None,
        git: dict[str, Any] | None = None,
        command: str | None = None,
    ) -> StageRun:
        """Open the run (``spec`` resolved, ``params`` the flat params to record); ``manifest``
        gives the dataset inputs, ``git`` the source tags (and the diff of a dirty tree)."""
        run = cls()
        tracking = spec.get("tracking") or {}
        if not tracking.get("mlflow", True) and not tracking.get("wandb"):
            return run
        run._guard(lambda: run._spawn(tracking, spec, name, stage, Path(root), params, tags,
                                      manifest, git or {}, command))
        return run

    @property
    def run_id(self) -> str | None:
        """The MLflow run id (waits for the tracking process to open the run); None when off."""
        if self._proc is None and not self._opened.is_set():
            return None
        if not self._opened.wait(OPEN_TIMEOUT_S):
            self._warn(f"no run opened within {OPEN_TIMEOUT_S} s")
        return self._run_id

    def _spawn(self, tracking, spec, name, stage, root, params, tags, manifest, git,
               command) -> None:
        from runners.records import mlflow_views

        uri = tracking_uri(tracking, root)
        self.uri = scrub(uri) if tracking.get("mlflow", True) else None
        self._proc = subprocess.Popen(
            [sys.executable, "-c", SERVE], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            text=True, encoding="utf-8", env={**os.environ, "PYTHONPATH": _pythonpath()},
        )
        all_tags = {**source_tags(root, stage, name, git, command), **tags}
        self._send({
            "op": "open", "uri": uri, "experiment": tracking.get("experiment") or "repro",
            "root": str(root.resolve()), "name": name, "stage": stage,
            "mlflow": bool(tracking.get("mlflow", True)), "wandb": tracking.get("wandb"),
            "own_store": uri == default_uri(root),
            "log_model": tracking.get("log_model", True),
            "register": tracking.get("register_model"),
            "spec": redact(spec),
            "params": {k: _param_value(v) for k, v in sorted(redact(params).items())},
            "tags": {k: scrub(str(v)) for k, v in all_tags.items() if v is not None},
            "datasets": mlflow_views.datasets(manifest, str(spec.get("data")), stage)
            if manifest else [],
            "diff": _diff(root) if git.get("dirty") else None,
        })
        proc = self._proc
        threading.Thread(target=self._write, args=(proc,), daemon=True).start()
        self._reader = threading.Thread(target=self._read, args=(proc,), daemon=True)
        self._reader.start()

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        if self._proc is None:
            return
        self._send({"op": "metrics", "metrics": {k: float(v) for k, v in metrics.items()},
                    "step": step, "ts": int(time.time() * 1000)})

    def finish(self, files: Iterable[Path] = (), failed: bool = False,
               out_dir: Path | None = None) -> None:
        """Log ``files`` as artifacts (unless ``failed``), and from ``out_dir`` (``runs/<spec>``)
        the curves and model of a train stage; end the run, wait for the process."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        self._outbox.put({"op": "finish", "files": [str(f) for f in files], "failed": failed,
                          "out_dir": str(out_dir) if out_dir is not None else None})
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
SERVE = "from runners.records.tracking_serve import serve; serve()"


def _pythonpath() -> str:
    """This project first, so the tracking process imports the same ``runners``."""
    here = str(Path(__file__).resolve().parents[2])
    rest = os.environ.get("PYTHONPATH")
    return here + (os.pathsep + rest if rest else "")


def _param_value(v: Any) -> str:
    return str(v)[:6000]
