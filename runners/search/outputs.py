"""What a finished study leaves: ``study.json``, the best trial's spec and its results as the spec's own.

``runs/<spec>/study.json`` (``study_version: 1``) holds every trial (number, state, sampled
params, values, intermediate values, seed, duration), the objectives, the best trial, and
the sampler's and pruner's full configurations. The best trial's model, train log, metrics
and lineage records are copied to ``runs/<spec>/`` (where any spec's results are), its
concrete spec goes to ``runs/<spec>/best.json`` with the study and trial it came from.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from repro.contract import paths
from repro.contract.fsio import atomic_dir, dump_json, write_text_atomic

STUDY_JSON = "study.json"
BEST_JSON = "best.json"
STUDY_VERSION = 1
COPIED = (paths.TRAIN_LINEAGE, paths.EVAL_LINEAGE, paths.METRICS, paths.TRAIN_METRICS,
          paths.TRAIN_LOG, paths.TRAIN_RUN, paths.EVAL_RUN)


def clean(root: Path, name: str) -> None:
    """Remove a previous study's files (a fresh stage run starts a fresh study)."""
    from runners.search.worker import study_dir

    shutil.rmtree(root / study_dir(name), ignore_errors=True)


def trial_row(t) -> dict[str, Any]:
    dur = t.duration.total_seconds() if t.duration is not None else None
    row: dict[str, Any] = {
        "number": t.number,
        "state": t.state.name,
        "params": dict(t.params),
        # a pruned trial's value in Optuna is its last intermediate one: that is in
        # "intermediate"; "values" are objective values only
        "values": list(t.values) if t.values is not None and t.state.name == "COMPLETE" else None,
        "intermediate": {str(k): v for k, v in sorted(t.intermediate_values.items())},
        "seed": t.user_attrs.get("seed"),
        "duration_s": round(dur, 3) if dur is not None else None,
    }
    for key in ("error", "surplus"):
        if key in t.user_attrs:
            row[key] = t.user_attrs[key]
    if "failed_trial" in t.system_attrs:
        row["retry_of"] = t.system_attrs["failed_trial"]
    return row


def best_trial(study, directions: list[str]):
    """The best complete trial: the study's best for one objective; for several, the
    Pareto-optimal trial best on the first objective (lowest number on ties)."""
    from optuna.trial import TrialState

    complete = [t for t in study.get_trials(deepcopy=False) if t.state == TrialState.COMPLETE]
    if not complete:
        return None
    candidates = study.best_trials if len(directions) > 1 else complete
    sign = 1 if directions[0] == "minimize" else -1
    return min(candidates, key=lambda t: (sign * t.values[0], t.number))


def write(root: Path, name: str, spec: dict[str, Any], study) -> dict[str, Any]:
    """Write study.json, best.json and the best trial's results; return study.json's content."""
    from runners.errors import RunnerError
    from runners.search.worker import split_entry, trial_name

    search, _ = split_entry(spec)
    objectives = search["objective"] if isinstance(search["objective"], list) \
        else [search["objective"]]
    directions = [o["direction"] for o in objectives]
    best = best_trial(study, directions)
    trials = sorted(study.get_trials(deepcopy=False), key=lambda t: t.number)
    doc = {
        "study_version": STUDY_VERSION,
        "study": study.study_name,
        "spec": name,
        "objectives": [{"metric": o["metric"], "direction": o["direction"]} for o in objectives],
        "best_trial": best.number if best is not None else None,
        "sampler": study.user_attrs.get("sampler"),
        "pruner": study.user_attrs.get("pruner"),
        "storage": type(study._storage).__name__,
        "trials": [trial_row(t) for t in trials],
    }
    out = root / paths.spec_dir(name)
    if best is not None:
        src = root / paths.spec_dir(trial_name(name, best.number))
        with atomic_dir(out / paths.MODEL_DIR) as tmp:
            shutil.copytree(src / paths.MODEL_DIR, tmp, dirs_exist_ok=True)
        for f in COPIED:
            if (src / f).is_file():
                write_text_atomic(out / f, (src / f).read_text(encoding="utf-8"))
        write_text_atomic(out / BEST_JSON, dump_json({
            "study": study.study_name, "trial": best.number, "values": list(best.values),
            "objectives": doc["objectives"], "params": dict(best.params),
            "source": paths.spec_dir(trial_name(name, best.number)).as_posix(),
            "spec": best.user_attrs.get("spec"),
        }))
    write_text_atomic(out / STUDY_JSON, dump_json(doc))
    try:
        from runners.search.plots import write_plots

        write_plots(study, root / paths.spec_dir(name) / "study" / "plots")
    except ImportError as e:  # plotting is optional extra output
        print(f"warning: no plots ({e})")
    done = sum(t["state"] == "COMPLETE" for t in doc["trials"])
    pruned = sum(t["state"] == "PRUNED" for t in doc["trials"])
    print(f"study {study.study_name}: {done} complete, {pruned} pruned of {len(trials)}; best "
          f"trial {doc['best_trial']} -> {out / STUDY_JSON}")
    if best is None:
        raise RunnerError(f"study {study.study_name}: no trial completed")
    return doc
