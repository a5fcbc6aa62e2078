"""MLflow logging for the train and evaluate stages.

One MLflow run per stage, grouped under one parent run per spec (found by the tags
``repro.spec=<name>`` and ``repro.role=spec``, created when absent). MLflow is
imported only when tracking is on, and nothing here may break a stage: the first
failure prints one warning and turns tracking off for the rest of the run, while the
stage's own outputs are written regardless.

Tracking URI: env ``MLFLOW_TRACKING_URI`` > the spec's ``tracking.tracking_uri`` >
``sqlite:///<workspace>/mlflow.db``. A new experiment on a local store gets the
artifact location ``<workspace>/mlartifacts``.
"""

from __future__ import annotations

import logging
import os
import re
import sys
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
    """The MLflow run of one stage; every method is a no-op once tracking is off."""

    def __init__(self) -> None:
        self._client = None
        self.run_id: str | None = None
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
        run._guard(lambda: run._open(tracking, name, stage, Path(root), params, tags))
        return run

    def _open(self, tracking, name, stage, root, params, tags) -> None:
        _quiet()
        from mlflow.entities import Param
        from mlflow.tracking import MlflowClient

        _quiet()
        uri = tracking_uri(tracking, root)
        self.uri = scrub(uri)
        client = MlflowClient(tracking_uri=uri)
        experiment_id = _experiment(client, tracking.get("experiment") or "repro", uri, root)
        parent = _parent_run(client, experiment_id, name)
        all_tags = {
            TAG_SPEC: name,
            TAG_ROLE: "stage",
            TAG_STAGE: stage,
            PARENT_TAG: parent,
            **{k: scrub(str(v)) for k, v in tags.items() if v is not None},
        }
        run = client.create_run(experiment_id, run_name=f"{name}/{stage}", tags=all_tags)
        self._client, self.run_id = client, run.info.run_id
        flat = [Param(k, _param_value(v)) for k, v in sorted(redact(params).items())]
        for i in range(0, len(flat), 100):  # MLflow takes at most 100 params per batch
            client.log_batch(self.run_id, params=flat[i : i + 100])

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        if self._client is None:
            return

        def log() -> None:
            from mlflow.entities import Metric

            ts = int(time.time() * 1000)
            batch = [Metric(k, float(v), ts, step or 0) for k, v in metrics.items()]
            self._client.log_batch(self.run_id, metrics=batch)

        self._guard(log)

    def finish(self, files: Iterable[Path] = (), failed: bool = False) -> None:
        if self._client is None:
            return

        def close() -> None:
            if not failed:
                for f in files:
                    self._client.log_artifact(self.run_id, str(f))
            self._client.set_terminated(self.run_id, "FAILED" if failed else "FINISHED")

        self._guard(close)
        self._client = None

    def _guard(self, fn: Callable[[], None]) -> None:
        try:
            fn()
        except Exception as e:  # tracking must never take a stage down
            text = scrub(str(e)).strip().splitlines()
            print(
                f"warning: MLflow tracking off: {text[0] if text else type(e).__name__}",
                file=sys.stderr,
            )
            self._client = None


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
