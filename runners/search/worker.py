"""The sweep stage: ``python -m runners.search.worker <spec> [--workers N] [--join]``.

One process runs many trials, paying the imports once: each trial is the spec's params
entry with the sampled fields set, trained and evaluated by the same functions the train
and evaluate stages run (``runners.train.train``, ``runners.evaluate.evaluate``), into
``runs/<spec>/study/trials/<NNNN>/``. The prepared data is the stage's dependency, read by
every trial (a sweep never changes a data field, so nothing is prepared twice). With
``--workers N`` the process starts N-1 more workers on the same storage and waits for
them; ``--join`` is such a worker (or one started on another machine against
``$REPRO_SEARCH_STORAGE``). When the study is done the first process writes the outputs
(``runners.search.outputs``).
"""

from __future__ import annotations

import argparse
import copy
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from repro.contract import paths
from runners import entry
from runners.search import drive, sampling

STUDY_DIR = "study"  # runs/<spec>/study/: the journal, every trial, the plots


def study_dir(name: str) -> Path:
    return Path(paths.spec_dir(name)) / STUDY_DIR


def trial_name(name: str, number: int) -> str:
    """The name a trial's outputs go under: runs/<spec>/study/trials/<NNNN>."""
    return f"{name}/{STUDY_DIR}/trials/{number:04d}"


def split_entry(spec: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the search section, the spec entry without it)."""
    base = {k: v for k, v in spec.items() if k != "search"}
    return spec["search"], base


def study_name(name: str, spec: dict[str, Any]) -> str:
    from repro.contract.fsio import canonical_json
    from repro.contract.hashing import sha256_text

    return f"{name}-{sha256_text(canonical_json(spec))[:8]}"


def objective_for(name: str, spec: dict[str, Any], root: Path, study: str = ""):
    """The objective of spec ``name``'s study: train and evaluate one trial in-process."""
    import optuna

    from runners.evaluate import evaluate
    from runners.train import train

    search, base = split_entry(spec)
    objectives = search["objective"] if isinstance(search["objective"], list) \
        else [search["objective"]]
    pruner = search["pruner"]
    base = copy.deepcopy(base)
    base["tracking"] = {**base["tracking"], "mlflow": False}  # the sweep tracks trials itself

    def objective(trial) -> Any:
        tspec = copy.deepcopy(base)
        params = sampling.sample(trial, tspec, search["space"])
        trial.set_user_attr("seed", int(tspec["seed"]))
        trial.set_user_attr("spec", tspec)
        tname = trial_name(name, trial.number)
        intermediate = None
        if pruner.get("every"):
            def report(step: int, value: float) -> None:
                trial.report(value, step)
                if trial.should_prune():
                    raise optuna.TrialPruned(f"pruned at step {step} (val_loss {value})")

            intermediate = {"every": pruner["every"], "max_examples": pruner["max_examples"],
                            "report": report}
        print(f"trial {trial.number}: " + ", ".join(f"{k}={v}" for k, v in params.items()),
              flush=True)
        # the lineage records name the study and the trial
        command = f"python -m runners.search.worker {name}: study {study}, trial {trial.number}"
        train(tspec, tname, root, command=command, intermediate=intermediate)
        metrics = evaluate(tspec, tname, root, command=command)
        values = [float(metrics[o["metric"]]) for o in objectives]
        return values[0] if len(values) == 1 else values

    return objective, objectives


def open_study(name: str, spec: dict[str, Any], root: Path, *, create: bool, index: int = 0):
    """The study, created or loaded; worker ``index`` > 0 seeds its sampler with seed +
    index, so parallel workers do not sample the same points."""
    import optuna

    search, base = split_entry(spec)
    if index:
        search = {**search, "sampler": {**search["sampler"],
                                        "seed": (int(search["sampler"]["seed"]) + index) % 2**32}}
    sampler, sampler_cfg = sampling.make_sampler(search, base)
    pruner, pruner_cfg = sampling.make_pruner(search, base)
    objectives = search["objective"] if isinstance(search["objective"], list) \
        else [search["objective"]]
    storage = drive.open_storage(root / study_dir(name) / "journal.log")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        study_name=study_name(name, spec), storage=storage, sampler=sampler, pruner=pruner,
        directions=[o["direction"] for o in objectives], load_if_exists=True,
    )
    if create:
        study.set_user_attr("sampler", sampler_cfg)
        study.set_user_attr("pruner", pruner_cfg)
    return study


def run(name: str, spec: dict[str, Any], root: Path, *, workers: int = 1,
        join: bool = False, index: int | None = None) -> dict[str, Any] | None:
    """Run spec ``name``'s study to its number of trials; without ``join``, start the other
    workers first and write the outputs last (returns study.json's content)."""
    from runners.search import outputs

    root = Path(root)
    search, _ = split_entry(spec)
    if not join and drive.storage_url() is None:
        outputs.clean(root, name)  # a fresh journal: a rebuilt stage starts a fresh study
    if index is None:  # a worker joining from elsewhere: any seed but the first worker's
        index = (os.getpid() % 9973) + 1 if join else 0
    study = open_study(name, spec, root, create=not join, index=index)
    others = []
    if not join:
        for i in range(1, workers):
            others.append(subprocess.Popen(
                [sys.executable, "-m", "runners.search.worker", name, "--join",
                 "--index", str(i), "--root", str(root)]))
            time.sleep(0.2)
    objective, _ = objective_for(name, spec, root, study.study_name)
    callbacks = []
    if not join:
        from runners.search.tracking import callback_for

        cb = callback_for(name, spec, root, study)
        callbacks = [cb] if cb is not None else []
    try:
        drive.drive(study, objective, int(search["trials"]), search.get("timeout"), callbacks)
    finally:
        failed = [p.wait() for p in others]
    if join:
        return None
    if any(failed):
        print(f"warning: {sum(1 for r in failed if r)} worker(s) exited non-zero", file=sys.stderr)
    result = outputs.write(root, name, spec, study)
    for cb in callbacks:
        cb.close(study)
    return result


def main(argv: list[str] | None = None) -> int:
    from runners.params import load_params, spec_params

    p = entry.parser("python -m runners.search.worker", "Run the Optuna study of one spec.",
                     "spec")
    p.add_argument("--workers", type=int, default=None,
                   help="worker processes on this machine (default: the spec's search.workers)")
    p.add_argument("--join", action="store_true",
                   help="join a running study as one more worker; write no outputs")
    p.add_argument("--index", type=int, default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)

    def body() -> None:
        from runners.errors import RunnerError

        spec = spec_params(load_params(args.root), args.spec)
        if not spec.get("search"):
            raise RunnerError(f"specs.{args.spec}: has no search section")
        workers = args.workers or int(spec["search"].get("workers") or 1)
        run(args.spec, spec, args.root, workers=workers, join=args.join, index=args.index)

    return entry.run(body)


if __name__ == "__main__":
    sys.exit(main())
