"""The tracking process's side: JSON lines from a stage -> MLflow and W&B.

``runners.records.tracking.StageRun`` starts ``python -c 'from runners.records.tracking_serve
import serve; serve()'`` beside a stage and writes to its stdin; everything here runs in
that process, so the stage never imports MLflow or W&B itself.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from repro.contract.secrets import scrub
from runners.records.tracking import (
    ARTIFACTS_DIR,
    DB_FILE,
    PARENT_TAG,
    TAG_ROLE,
    TAG_SPEC,
    TAG_STAGE,
    _quiet,
)


def serve() -> None:
    """The tracking process: JSON lines on stdin (open, metrics..., finish) -> the sinks.

    Answers on stdout: ``{"opened": run_id}``, ``{"error": text}`` (then that sink is off),
    ``{"done": true}``. Its stdin closing before ``finish`` marks the runs FAILED.
    """
    answers = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)  # whatever MLflow or W&B print goes to stderr, never into the answers
    sys.stdout = sys.stderr

    def answer(**fields: Any) -> None:
        answers.write(json.dumps(fields) + "\n")
        answers.flush()

    sinks = Sinks(answer)
    for line in sys.stdin:
        message = json.loads(line)
        op = message["op"]
        if op == "open":
            sinks.open(message)
        elif op == "metrics":
            sinks.metrics(message)
        elif op == "finish":
            sinks.finish(message)
            answer(done=True)
    sinks.died()


class Sinks:
    """MLflow (``tracking.mlflow``) and W&B (``tracking.wandb``) for one stage; a sink that
    fails once says so and is off for the rest of the stage, the other goes on."""

    def __init__(self, answer: Callable[..., None]) -> None:
        self.answer = answer
        self.client = self.run_id = self.wandb = None
        self.open_msg: dict[str, Any] = {}
        self.live: set[str] = set()
        self.finished = False

    def _try(self, sink: str, fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except Exception as e:
            text = scrub(str(e)).strip().splitlines()
            self.answer(error=f"{sink}: {text[0] if text else type(e).__name__}")
            if sink == "MLflow":
                self.client = None
            else:
                self.wandb = None
            return None

    def open(self, m: dict[str, Any]) -> None:
        self.open_msg = m
        if m.get("mlflow", True):
            opened = self._try("MLflow", lambda: _open(m))
            if opened:
                self.client, self.run_id, self.experiment_id, self.parent = opened
        self.answer(opened=self.run_id)
        if m.get("wandb"):
            from runners.records.wandb_sink import WandbSink

            self.wandb = self._try("W&B", lambda: WandbSink(
                m["wandb"], Path(m["root"]), m["name"], m["stage"], m["params"], m["tags"]))

    def metrics(self, m: dict[str, Any]) -> None:
        if self.client is not None:
            from mlflow.entities import Metric

            batch = [Metric(k, v, m["ts"], m["step"] or 0) for k, v in m["metrics"].items()]
            self._try("MLflow", lambda: self.client.log_batch(self.run_id, metrics=batch))
            if m["step"] is not None:
                self.live.update(m["metrics"])
        if self.wandb is not None:
            if m["step"] is None:  # final values: the run's summary
                self._try("W&B", lambda: self.wandb.summary(m["metrics"]))
            else:
                self._try("W&B", lambda: self.wandb.metrics(m["metrics"], m["step"]))

    def finish(self, m: dict[str, Any]) -> None:
        self.finished = True
        failed = m["failed"]
        if self.client is not None:
            self._try("MLflow", lambda: _finish(self, m))
        if self.wandb is not None:
            if not failed:
                self._try("W&B", lambda: self._wandb_curves(m))
            self._try("W&B", lambda: self.wandb.finish(failed))

    def _wandb_curves(self, m: dict[str, Any]) -> None:
        from runners.records import mlflow_views

        if self.open_msg["stage"] != "train" or not m.get("out_dir"):
            return
        curves = mlflow_views.read_curves(Path(m["out_dir"]) / "train_log.csv")
        by_step: dict[int, dict[str, float]] = {}
        for col, points in curves.items():
            if col not in self.live:
                for step, v in points:
                    by_step.setdefault(step, {})[col] = v
        for step in sorted(by_step):
            self.wandb.metrics(by_step[step], step)

    def died(self) -> None:
        """stdin closed: a stage that died before ``finish`` leaves FAILED runs."""
        if self.finished:
            return
        if self.client is not None:
            with contextlib.suppress(Exception):
                self.client.set_terminated(self.run_id, "FAILED")
        if self.wandb is not None:
            with contextlib.suppress(Exception):
                self.wandb.finish(True)


def _finish(sinks: Sinks, m: dict[str, Any]) -> None:
    from runners.records import mlflow_views as views

    client, run_id, o = sinks.client, sinks.run_id, sinks.open_msg
    root, name, stage = Path(o["root"]), o["name"], o["stage"]
    if not m["failed"]:
        for f in m["files"]:
            client.log_artifact(run_id, f)
        out_dir = Path(m["out_dir"]) if m.get("out_dir") else None
        if out_dir is not None and stage == "train":
            views.log_curves(client, run_id, out_dir / "train_log.csv", sinks.live)
            if o.get("log_model", True):
                views.log_model(client, sinks.experiment_id, run_id, out_dir / "model", name,
                                o["spec"], o.get("register"))
    client.set_terminated(run_id, "FAILED" if m["failed"] else "FINISHED")
    if not m["failed"]:
        views.sync_parent(client, sinks.parent, sinks.experiment_id, root, name)


def _open(m: dict[str, Any]):
    _quiet()
    from mlflow.tracking import MlflowClient

    from runners.records import mlflow_views as views

    _quiet()
    root = Path(m["root"])
    if m.get("own_store"):  # the workspace's mlflow.db: follow a copied or moved workspace
        from runners.records.mlflow_store import relocate

        relocate(root / DB_FILE, root)
    client = MlflowClient(tracking_uri=m["uri"])
    experiment_id = _experiment(client, m["experiment"], m["uri"], root)
    parent = views.parent_run(client, experiment_id, m["name"],
                              m["tags"].get("repro.spec_hash"), m["params"])
    all_tags = {
        TAG_SPEC: m["name"],
        TAG_ROLE: "stage",
        TAG_STAGE: m["stage"],
        PARENT_TAG: parent,
        **m["tags"],
    }
    run = client.create_run(experiment_id, run_name=f"{m['name']}/{m['stage']}", tags=all_tags)
    run_id = run.info.run_id
    from mlflow.entities import Param

    flat = [Param(k, v) for k, v in m["params"].items()]
    for i in range(0, len(flat), 100):  # MLflow takes at most 100 params per batch
        client.log_batch(run_id, params=flat[i : i + 100])
    views.log_datasets(client, run_id, m.get("datasets") or [])
    views.log_spec(client, run_id, root, m["name"], m["spec"])
    views.log_diff(client, run_id, m.get("diff"))
    return client, run_id, experiment_id, parent


def _is_local(uri: str) -> bool:
    return uri.startswith(("sqlite:", "file:")) or "://" not in uri


def _experiment(client, name: str, uri: str, root: Path) -> str:
    exp = client.get_experiment_by_name(name)
    if exp is not None:
        return exp.experiment_id
    location = (root / ARTIFACTS_DIR).resolve().as_uri() if _is_local(uri) else None
    return client.create_experiment(name, artifact_location=location)
