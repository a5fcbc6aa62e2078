"""Benchmark: the sweep layer (issue 14), two measurements, each side by side in one run.

``overhead``: per-trial cost outside training and evaluation, for the in-process sweep
worker (``python -m runners.search.worker``: one process, many trials) against
process-per-trial with ``dvc exp run --queue`` on the compiled pipeline (the anchor a DVC
user would pick: each trial is a queued experiment, its train and evaluate stages two
processes, plus DVC's workspace copy and git commit). The same N learning rates on the
same tiny spec, both sides; ``work`` (the train and evaluate stage bodies, from the
in-process trials' run records) is subtracted from each side's wall time per trial.

``pruning``: the same seeded random-sampler sweep (so both sides try the same points, in
the same order), with a median pruner and without: best objective and optimizer steps
trained (a pruned trial counts the steps it ran).

    .venv/bin/python bench/search.py            # writes bench/results/search.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = str(Path(sys.executable).parent)
ENV = {**os.environ, "DVC_NO_ANALYTICS": "1", "NO_COLOR": "1", "PATH": BIN + os.pathsep
       + os.environ.get("PATH", ""), "GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@b",
       "GIT_COMMITTER_NAME": "b", "GIT_COMMITTER_EMAIL": "b@b"}
ENV.pop("REPRO_SEARCH_STORAGE", None)

SPEC = """\
spec_version: 2
seed: 7
data:
  source: {builtin: arithmetic, size: 400}
  format: instruction
  tokenizer: {kind: bpe, vocab_size: 128}
model:
  base:
    config: {hidden_size: 32, intermediate_size: 64, num_hidden_layers: 1, num_attention_heads: 2}
train:
  method: sft
  peft: {kind: lora, r: 4}
  optimizer: {name: adamw, lr: 3.0e-3}
  max_steps: STEPS
  batch_size: 8
  max_length: 32
  log_every: 10
evaluate:
  metrics: [perplexity]
  max_examples: 20
  compare_base: false
tracking:
  mlflow: false
"""


def sh(ws: Path, *cmd: str) -> str:
    proc = subprocess.run(cmd, cwd=ws, env=ENV, capture_output=True, text=True)
    if proc.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc.stdout


def workspace(base: Path, name: str, text: str) -> Path:
    ws = base / name
    (ws / "specs").mkdir(parents=True)
    (ws / "specs" / "bench.yaml").write_text(text)
    (ws / ".gitignore").write_text("/runs/\n")
    sh(ws, "git", "init", "-q")
    sh(ws, sys.executable, "-m", "dvc", "init", "-q")
    sh(ws, sys.executable, "-m", "repro.cli", "compile")
    return ws


def overhead(base: Path, n: int, steps: int) -> dict:
    lrs = [round(1e-3 * (1.5 ** i), 6) for i in range(n)]
    spec = SPEC.replace("STEPS", str(steps))
    search = ("search:\n  objective: {metric: perplexity, direction: minimize}\n"
              f"  trials: {n}\n  sampler: {{name: grid}}\n"
              f"  space:\n    train.optimizer.lr: {{choices: {lrs}}}\n")
    # in-process: one sweep stage, n trials (data prepared first, as a stage, outside the timing)
    ws = workspace(base, "inproc", spec + search)
    sh(ws, sys.executable, "-m", "dvc", "repro", "-s", "dvc.yaml:" + _prepare(ws))
    t0 = time.perf_counter()
    sh(ws, sys.executable, "-m", "runners.search.worker", "bench")
    inproc_wall = time.perf_counter() - t0
    study = json.loads((ws / "runs/bench/study.json").read_text())
    work = []
    for t in study["trials"]:
        d = ws / f"runs/bench/study/trials/{t['number']:04d}"
        work.append(sum(json.loads((d / f).read_text())["duration_s"]
                        for f in ("train.run.json", "evaluate.run.json")))
    per_work = sum(work) / len(work)
    # process per trial: dvc exp run --queue, one experiment per learning rate
    ws2 = workspace(base, "queue", spec)
    sh(ws2, "git", "add", "-A")
    sh(ws2, "git", "commit", "-qm", "bench")
    sh(ws2, sys.executable, "-m", "dvc", "repro")  # the baseline: prepare cached, like above
    sh(ws2, "git", "add", "-A")
    sh(ws2, "git", "commit", "-qm", "baseline")
    for lr in lrs:
        sh(ws2, sys.executable, "-m", "dvc", "exp", "run", "--queue", "-S",
           f"specs.bench.train.optimizer.lr={lr}")
    t0 = time.perf_counter()
    sh(ws2, sys.executable, "-m", "dvc", "exp", "run", "--run-all", "--jobs", "1")
    queue_wall = time.perf_counter() - t0
    shown = sh(ws2, sys.executable, "-m", "dvc", "exp", "show", "--json")
    inproc_trial = inproc_wall / n
    queue_trial = queue_wall / n
    return {
        "trials": n, "steps": steps, "learning_rates": lrs,
        "work_per_trial_s": round(per_work, 3),
        "in_process": {"wall_s": round(inproc_wall, 2), "per_trial_s": round(inproc_trial, 3),
                       "overhead_per_trial_s": round(inproc_trial - per_work, 3),
                       "trial_durations_s": [t["duration_s"] for t in study["trials"]]},
        "dvc_exp_queue": {"wall_s": round(queue_wall, 2), "per_trial_s": round(queue_trial, 3),
                          "overhead_per_trial_s": round(queue_trial - per_work, 3),
                          "experiments_shown": shown.count('"bench.yaml"') or None},
        "ratio_overhead": round((queue_trial - per_work) / max(inproc_trial - per_work, 1e-3), 1),
    }


def _prepare(ws: Path) -> str:
    import yaml

    stages = yaml.safe_load((ws / "dvc.yaml").read_text())["stages"]
    return next(s for s in stages if s.startswith("prepare-"))


def pruning(base: Path, n: int, steps: int) -> dict:
    out = {}
    for label, pruner in (("unpruned", "{name: none}"),
                          ("pruned", "{name: median, every: 10, warmup_steps: 10, "
                                     "startup_trials: 3, max_examples: 32}")):
        search = ("search:\n  objective: {metric: perplexity, direction: minimize}\n"
                  f"  trials: {n}\n  sampler: {{name: random}}\n  pruner: {pruner}\n"
                  "  space:\n    train.optimizer.lr: {low: 1.0e-5, high: 1.0e-1, log: true}\n"
                  "    train.peft.r: {choices: [2, 4, 8]}\n")
        ws = workspace(base, label, SPEC.replace("STEPS", str(steps)) + search)
        sh(ws, sys.executable, "-m", "dvc", "repro", "-s", "dvc.yaml:" + _prepare(ws))
        t0 = time.perf_counter()
        sh(ws, sys.executable, "-m", "runners.search.worker", "bench")
        wall = time.perf_counter() - t0
        study = json.loads((ws / "runs/bench/study.json").read_text())
        trained = 0
        for t in study["trials"]:
            if t["state"] == "COMPLETE":
                trained += steps
            elif t["intermediate"]:
                trained += max(int(s) for s in t["intermediate"])
        best = min(t["values"][0] for t in study["trials"] if t["state"] == "COMPLETE")
        out[label] = {"best_perplexity": best, "steps_trained": trained, "wall_s": round(wall, 2),
                      "pruned": sum(t["state"] == "PRUNED" for t in study["trials"]),
                      "params": [t["params"] for t in study["trials"]]}
    u, p = out["unpruned"], out["pruned"]
    out["same_points"] = u.pop("params") == p.pop("params")
    out["best_gap"] = round(p["best_perplexity"] / u["best_perplexity"] - 1, 6)
    out["steps_fraction"] = round(p["steps_trained"] / u["steps_trained"], 4)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=5)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--prune-trials", type=int, default=16)
    ap.add_argument("--prune-steps", type=int, default=60)
    ap.add_argument("-o", "--output", default=str(ROOT / "bench/results/search.json"))
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-search-") as tmp:
        result = {
            "machine": {"cpu_count": os.cpu_count(), "python": platform.python_version()},
            "overhead": overhead(Path(tmp), args.trials, args.steps),
            "pruning": pruning(Path(tmp), args.prune_trials, args.prune_steps),
        }
    Path(args.output).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
