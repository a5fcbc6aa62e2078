"""MLflow for a sweep: a parent run per study and a nested run per finished trial (our own
callback; optuna-integration's MLflowCallback is deprecated).

The trial's run holds its sampled params, its intermediate values (as a ``val_loss``
series by step), its final values and its state. MLflow is imported once per sweep, in the
sweep's first process, so a trial pays no start-up.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


class TrialRuns:
    """Optuna callback: ``callback(study, frozen_trial)`` after each trial."""

    def __init__(self, name: str, spec: dict[str, Any], root: Path, study) -> None:
        from mlflow import MlflowClient

        from runners.records.tracking import PARENT_TAG, tracking_uri
        from runners.records.tracking_serve import _experiment

        uri = tracking_uri(spec["tracking"], root)
        self.client = MlflowClient(uri)
        self.parent_tag = PARENT_TAG
        self.experiment = _experiment(self.client, spec["tracking"].get("experiment") or "repro",
                                      uri, root)
        self.parent = self.client.create_run(self.experiment, run_name=f"{name} study", tags={
            "repro.spec": name, "repro.role": "study", "repro.study": study.study_name}).info.run_id
        for key in ("sampler", "pruner"):
            cfg = study.user_attrs.get(key) or {}
            self.client.log_param(self.parent, f"search.{key}", cfg.get("class"))
        self.name = name

    def __call__(self, study, trial) -> None:
        c = self.client
        run = c.create_run(self.experiment, run_name=f"{self.name} trial {trial.number}", tags={
            self.parent_tag: self.parent, "repro.spec": self.name, "repro.role": "trial",
            "repro.study": study.study_name, "repro.trial": str(trial.number),
            "repro.state": trial.state.name}).info.run_id
        for k, v in trial.params.items():
            c.log_param(run, k, v)
        for step, value in sorted(trial.intermediate_values.items()):
            c.log_metric(run, "val_loss", value, step=int(step))
        for i, value in enumerate(trial.values or []):
            c.log_metric(run, f"objective_{i}", value)
        ok = trial.state.name in ("COMPLETE", "PRUNED")
        c.set_terminated(run, "FINISHED" if ok else "FAILED")

    def close(self, study) -> None:
        from optuna.trial import TrialState

        done = [t for t in study.get_trials(deepcopy=False) if t.state == TrialState.COMPLETE]
        self.client.log_metric(self.parent, "trials_complete", len(done))
        self.client.set_terminated(self.parent, "FINISHED")


def callback_for(name: str, spec: dict[str, Any], root: Path, study) -> TrialRuns | None:
    """The sweep's MLflow callback, or None when the spec turns tracking off."""
    if not (spec.get("tracking") or {}).get("mlflow"):
        return None
    return TrialRuns(name, spec, Path(root), study)
