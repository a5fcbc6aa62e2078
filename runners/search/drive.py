"""Running an Optuna study to a target number of finished trials, alone or with other workers.

Workers (processes on one machine, or on many) share one storage: a JournalStorage file
by default, or a PostgreSQL (any SQLAlchemy) URL from ``$REPRO_SEARCH_STORAGE``, never
written in a spec. On an RDB storage every running trial sends heartbeats; a worker that
dies (SIGKILL) leaves a stale trial that the next worker fails and retries once as a new
trial with the same parameters (``RetryHeartbeatStaleTrialCallback``, Optuna 5's name
for ``RetryFailedTrialCallback``), so a study ends with exactly
the finished trials asked for, none lost and none counted twice. Never Optuna's ``n_jobs``
threads: one trial at a time per process.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

STORAGE_ENV = "REPRO_SEARCH_STORAGE"
HEARTBEAT_ENV = "REPRO_SEARCH_HEARTBEAT"  # seconds between heartbeats (default 10)
ERROR_ATTR = "error"  # set on a trial whose objective raised: finished, not retried
SURPLUS_ATTR = "surplus"  # set on a trial started past the target by a race between workers


def storage_url() -> str | None:
    return os.environ.get(STORAGE_ENV) or None


def open_storage(journal: Path, url: str | None = None):
    """An RDB storage with heartbeats and retries for ``url``, else a JournalStorage file."""
    import optuna

    url = url if url is not None else storage_url()
    if url:
        import warnings

        beat = int(os.environ.get(HEARTBEAT_ENV, "10"))
        with warnings.catch_warnings():  # heartbeats are "experimental" since Optuna 2.8
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            retry = optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=2)
            return optuna.storages.RDBStorage(
                url, heartbeat_interval=beat, grace_period=3 * beat,
                heartbeat_stale_trial_callback=retry, engine_kwargs={"pool_pre_ping": True},
            )
    from optuna.storages.journal import JournalFileBackend

    journal.parent.mkdir(parents=True, exist_ok=True)
    return optuna.storages.JournalStorage(JournalFileBackend(str(journal)))


def finished(trial) -> bool:
    """Counts toward the target: complete, pruned, or failed by its own error (a trial
    failed because its worker died is retried instead)."""
    from optuna.trial import TrialState

    if trial.state in (TrialState.COMPLETE, TrialState.PRUNED):
        return True
    return trial.state == TrialState.FAIL and ERROR_ATTR in trial.user_attrs


def drive(study, objective: Callable[[Any], Any], target: int, timeout: float | None = None,
          callbacks: list | None = None, poll: float = 0.5) -> int:
    """Run trials of ``study`` in this process until ``target`` trials are finished in the
    whole study (by every worker); return how many this process ran."""
    import optuna
    from optuna.storages._heartbeat import is_heartbeat_enabled
    from optuna.trial import TrialState

    start, ran = time.monotonic(), 0
    heartbeat = is_heartbeat_enabled(study._storage)

    def guarded(trial):
        # a race between workers can start one trial too many: fail it, uncounted
        others = [t for t in study.get_trials(deepcopy=False)
                  if t.number < trial.number and (finished(t) or t.state == TrialState.RUNNING)]
        if len(others) >= target:
            trial.set_user_attr(SURPLUS_ATTR, True)
            raise _Surplus()
        try:
            return objective(trial)
        except optuna.TrialPruned:
            raise
        except Exception as e:
            trial.set_user_attr(ERROR_ATTR, f"{type(e).__name__}: {e}"[:500])
            raise

    while timeout is None or time.monotonic() - start < timeout:
        if heartbeat:
            optuna.storages.fail_stale_trials(study)  # a dead worker's trial: failed, retried
        trials = study.get_trials(deepcopy=False)
        done = sum(finished(t) for t in trials)
        if done >= target:
            break
        running = sum(t.state == TrialState.RUNNING for t in trials)
        waiting = sum(t.state == TrialState.WAITING for t in trials)
        if done + running >= target and not waiting:
            time.sleep(poll)  # the others finish the study (or die and get retried)
            continue
        study.optimize(guarded, n_trials=1, callbacks=callbacks, catch=(Exception,),
                       gc_after_trial=False, show_progress_bar=False)
        ran += 1
    return ran


class _Surplus(Exception):
    """A trial started after the study had enough (a race between workers)."""
