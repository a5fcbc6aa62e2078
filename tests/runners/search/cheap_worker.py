"""A sweep worker with a trivially cheap objective, for the many-worker tests:
``python -m tests.runners.search.cheap_worker URL STUDY TARGET SECONDS``."""

from __future__ import annotations

import sys
import time


def main() -> int:
    import optuna

    from runners.search import drive

    url, name, target, seconds = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.load_study(study_name=name, storage=drive.open_storage(None, url),
                              sampler=optuna.samplers.RandomSampler())

    def objective(trial):
        x = trial.suggest_float("x", -10, 10)
        print(f"start {trial.number}", flush=True)
        time.sleep(seconds)
        return x * x

    ran = drive.drive(study, objective, target, poll=0.2)
    print(f"ran {ran}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
