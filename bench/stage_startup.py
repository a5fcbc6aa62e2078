"""Benchmark: a stage's fixed cost (process start to first useful work), before and after.

Target (issue 9, item 6): a stage pays only for the libraries it uses. Measured on the
shipped LoRA spec (``tiny-sft-lora``) and its prepare stage, in two scratch clones of this
repository: BEFORE (``--before``, default the base commit of the change) and AFTER
(``--after``, default HEAD), each running its own ``runners/`` code on the same outputs.

Each stage runs as ``python -c BOOT`` where BOOT installs an import hook that wraps the
stage's first piece of real work and then runs ``runners.<stage>.main`` as DVC would:

    prepare   runners.data.sources.load_source   (reading the raw rows)
    train     runners.training.loop.fit          (the model, adapter and data are ready)
    evaluate  runners.scoring.metrics.score      (the trained model is loaded)

``startup`` = wall time from just before the process is spawned to the first call of that
function (the process exits there). ``whole`` = the whole stage run to completion, and
``fixed`` = whole minus the time spent inside the wrapped function(s), i.e. start-up plus
the tail (outputs, lineage and run records, MLflow). For ``whole`` the train stage runs
``--train-steps`` steps instead of the spec's 3000 (both sides alike; its outputs are then
compared between the two sides, bit for bit). Rounds alternate BEFORE/AFTER so machine
noise hits both alike; the report gives min and median.

    .venv/bin/python bench/stage_startup.py             # writes bench/results/stage_startup.json
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SPEC = "tiny-sft-lora"
BASE = "0433a24"  # main before issue 9's start-up work
WORK = {  # stage -> (module, function) of its first useful work
    "prepare": ("runners.data.sources", "load_source"),
    "train": ("runners.training.loop", "fit"),
    "evaluate": ("runners.scoring.metrics", "score"),
}

BOOT = r"""
import importlib.abc, importlib.util, json, os, sys, time
MODE, STAGE, MARKS = os.environ["BENCH_MODE"], os.environ["BENCH_STAGE"], os.environ["BENCH_MARKS"]
TARGET_MOD, TARGET_FN = os.environ["BENCH_TARGET"].split(":")
STEPS = int(os.environ.get("BENCH_TRAIN_STEPS") or 0)
inside = [0.0]

def wrap(fn):
    def timed(*a, **k):
        t = time.time()
        if MODE == "startup":
            with open(MARKS, "w") as f:
                json.dump({"work_start": t}, f)
            os._exit(0)
        if STEPS and TARGET_FN == "fit":
            a = (a[0], a[1], {**a[2], "max_steps": STEPS}) + tuple(a[3:])
        try:
            return fn(*a, **k)
        finally:
            inside[0] += time.time() - t
            with open(MARKS, "w") as f:
                json.dump({"inside": inside[0]}, f)
    return timed

class Hook(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name != TARGET_MOD:
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        run = spec.loader.exec_module
        def exec_module(module):
            run(module)
            setattr(module, TARGET_FN, wrap(getattr(module, TARGET_FN)))
        spec.loader.exec_module = exec_module
        return spec

sys.meta_path.insert(0, Hook())
import importlib
main = importlib.import_module("runners." + STAGE).main
sys.argv[0] = "runners." + STAGE
sys.exit(main())  # as `python -m runners.<stage> <target>` calls it
"""


def clone(ref: str, dest: Path) -> None:
    subprocess.run(["git", "clone", "-q", "--no-checkout", str(ROOT), str(dest)], check=True)
    subprocess.run(["git", "-C", str(dest), "checkout", "-q", ref], check=True)


def stage_target(ws: Path, stage: str) -> str:
    """The argument of ``python -m runners.<stage>``: the spec, or its data set's key."""
    if stage != "prepare":
        return SPEC
    import yaml

    params = yaml.safe_load((ws / "params.yaml").read_text())
    return params["specs"][SPEC]["data"]


def env_for(ws: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ws), "TOKENIZERS_PARALLELISM": "false",
            "DVC_NO_ANALYTICS": "1"}


def once(ws: Path, stage: str, target: str, mode: str, steps: int) -> dict[str, float]:
    """One stage process; returns startup (mode startup) or whole and fixed (mode whole)."""
    with tempfile.TemporaryDirectory() as tmp:
        marks = Path(tmp) / "marks.json"
        env = {**env_for(ws), "BENCH_MODE": mode, "BENCH_STAGE": stage,
               "BENCH_MARKS": str(marks), "BENCH_TARGET": ":".join(WORK[stage]),
               "BENCH_TRAIN_STEPS": str(steps)}
        t0 = time.time()
        proc = subprocess.run([sys.executable, "-c", BOOT, target], cwd=ws, env=env,
                              capture_output=True, text=True)
        elapsed = time.time() - t0
        if proc.returncode != 0 or not marks.is_file():
            sys.exit(f"{ws.name} {stage} ({mode}) failed:\n{proc.stdout}\n{proc.stderr}")
        m = json.loads(marks.read_text())
    if mode == "startup":
        return {"startup": m["work_start"] - t0}
    return {"whole": elapsed, "fixed": elapsed - m["inside"]}


def digest(path: Path) -> dict[str, str]:
    """sha256 of a file, or of every file under a directory."""
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    return {p.relative_to(path.parent).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in files}


def summary(xs: list[float]) -> dict:
    return {"min": round(min(xs), 3), "median": round(statistics.median(xs), 3),
            "all": [round(x, 3) for x in xs]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", default=BASE, help="git ref of the code before (default %(default)s)")
    ap.add_argument("--after", default="HEAD", help="git ref of the code after (default HEAD)")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--train-steps", type=int, default=100,
                    help="steps of the train stage in the whole-stage runs")
    ap.add_argument("--scratch", default=None,
                    help="keep the scratch workspaces here (reused when already built)")
    ap.add_argument("--stages", default="prepare,train,evaluate")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "stage_startup.json"))
    args = ap.parse_args()
    scratch = Path(args.scratch or tempfile.mkdtemp(prefix="repro-startup-"))
    sides = {"before": scratch / "before", "after": scratch / "after"}
    refs = {side: subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", ref],
                                 capture_output=True, text=True, check=True).stdout.strip()
            for side, ref in (("before", args.before), ("after", args.after))}
    for side, ref in refs.items():
        if not sides[side].is_dir():
            clone(ref, sides[side])
    built = sides["before"] / "runs" / SPEC / "metrics.json"
    if not built.is_file():  # the shipped spec's upstream outputs, built once
        print(f"building {SPEC} in {sides['before']} (once) ...", flush=True)
        subprocess.run([str(Path(sys.executable).parent / "repro"), "run", SPEC],
                       cwd=sides["before"], env=env_for(sides["before"]), check=True,
                       stdout=subprocess.DEVNULL)
    for name in ("runs", "mlflow.db", "mlartifacts"):  # the same inputs on both sides
        src, dst = sides["before"] / name, sides["after"] / name
        if src.exists() and not dst.exists():
            (shutil.copytree if src.is_dir() else shutil.copy2)(src, dst)
    stages = args.stages.split(",")
    targets = {st: stage_target(sides["after"], st) for st in stages}
    results: dict = {}
    for stage in stages:
        for mode in ("startup", "whole"):
            runs: dict[str, dict[str, list[float]]] = {"before": {}, "after": {}}
            for r in range(args.rounds):
                order = ("before", "after") if r % 2 == 0 else ("after", "before")
                for side in order:
                    got = once(sides[side], stage, targets[stage], mode, args.train_steps)
                    for k, v in got.items():
                        runs[side].setdefault(k, []).append(v)
            for side in ("before", "after"):
                for k, xs in runs[side].items():
                    results.setdefault(stage, {}).setdefault(k, {})[side] = summary(xs)
            row = results[stage]
            print(stage, mode, {k: (v["before"]["median"], v["after"]["median"])
                                for k, v in row.items()}, flush=True)
    same = {name: digest(sides["before"] / "runs" / SPEC / name)
            == digest(sides["after"] / "runs" / SPEC / name)
            for name in ("model", "train_metrics.json", "train_log.csv", "metrics.json")}
    result = {
        "benchmark": "stage fixed cost: process start to first useful work, before/after",
        "spec": SPEC,
        "prepare_target": targets.get("prepare"),
        "before": refs["before"],
        "after": refs["after"],
        "rounds": args.rounds,
        "train_steps_in_whole_runs": args.train_steps,
        "seconds": results,
        "outputs_identical": same,
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                    "python": platform.python_version(),
                    "load_avg_at_end": [round(x, 2) for x in os.getloadavg()]},
        "command": "python bench/stage_startup.py",
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
