"""Benchmark: `repro diff REV [REV]`, a whole-revision diff of the shipped pipeline.

Target (issue 13): under 2 s between two commits that change one spec field and one runner
file, listing exactly the affected specs. A scratch git repository gets the shipped pipeline
as committed here (specs, code, params.yaml, dvc.yaml, dvc.lock, env.lock), then a synthetic
second commit (tiny-pretrain's train.max_steps + 100, a comment appended to the DPO runner,
params.yaml recompiled). Timed as whole commands (interpreter start-up included), median of
N rounds after a warm-up, plus the in-process time of the comparison alone.

    .venv/bin/python bench/revdiff_speed.py   # writes bench/results/revdiff_speed.json
"""

from __future__ import annotations

import argparse
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
CASES = {
    "diff HEAD~1 HEAD": ["diff", "HEAD~1", "HEAD"],
    "diff --json HEAD~1 HEAD": ["diff", "--json", "HEAD~1", "HEAD"],
    "diff --md HEAD~1 HEAD": ["diff", "--md", "HEAD~1", "HEAD"],
    "diff HEAD~1 (against the workspace)": ["diff", "HEAD~1"],
}
GIT_ENV = {"GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@b", "GIT_COMMITTER_NAME": "b",
           "GIT_COMMITTER_EMAIL": "b@b"}


def sh(cmd: list[str], cwd: Path, env: dict) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc


def scratch(into: Path, env: dict) -> Path:
    ws = into / "shipped"
    for item in ("specs", "repro", "runners"):
        shutil.copytree(ROOT / item, ws / item, ignore=shutil.ignore_patterns("__pycache__"))
    for item in ("params.yaml", "dvc.yaml", "dvc.lock", "env.lock"):
        shutil.copy(ROOT / item, ws / item)
    sh(["git", "init", "-q"], ws, env)
    sh(["git", "add", "-A"], ws, env)
    sh(["git", "commit", "-qm", "shipped"], ws, env)
    spec = ws / "specs/tiny-pretrain.yaml"
    text = spec.read_text()
    import yaml

    steps = yaml.safe_load(text)["train"]["max_steps"]
    spec.write_text(text.replace(f"max_steps: {steps}", f"max_steps: {steps + 100}"))
    sh([sys.executable, "-m", "repro.cli", "-C", str(ws), "compile"], ROOT, env)
    sh(["git", "checkout", "env.lock"], ws, env)
    runner = ws / "runners/methods/dpo.py"
    runner.write_text(runner.read_text() + "# a comment\n")
    sh(["git", "commit", "-qam", "one field, one runner"], ws, env)
    return ws


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "revdiff_speed.json"))
    args = ap.parse_args()
    env = {**os.environ, **GIT_ENV, "NO_COLOR": "1"}
    with tempfile.TemporaryDirectory(prefix="revdiff-bench-") as tmp:
        ws = scratch(Path(tmp), env)
        base = [sys.executable, "-m", "repro.cli", "-C", str(ws)]
        listing = json.loads(sh(base + ["diff", "--json", "HEAD~1", "HEAD"], ROOT, env).stdout)
        changed = {r["spec"]: r["causes"] for r in listing["results"]
                   if r["status"] != "unchanged"}
        timings = {}
        for label, cmd in CASES.items():
            sh(base + cmd, ROOT, env)  # warm-up
            runs = []
            for _ in range(args.rounds):
                t = time.perf_counter()
                sh(base + cmd, ROOT, env)
                runs.append(time.perf_counter() - t)
            timings[label] = {"median": round(statistics.median(runs), 3),
                              "all": [round(x, 3) for x in runs]}
        sys.path.insert(0, str(ROOT))
        from repro.results import snapshot
        from repro.results.revdiff import compare_revisions

        inproc = []
        for _ in range(args.rounds):
            snapshot._PARSED.clear()  # each round parses its files again
            t = time.perf_counter()
            compare_revisions(ws, "HEAD~1", "HEAD")
            inproc.append(time.perf_counter() - t)
    result = {
        "benchmark": "repro diff REV REV on the shipped pipeline (one spec field, one runner)",
        "rounds": args.rounds,
        "commands_s": timings,
        "compare_revisions_in_process_s": {"median": round(statistics.median(inproc), 3),
                                           "all": [round(x, 3) for x in inproc]},
        "changed": changed,
        "specs": len(listing["results"]),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                    "python": platform.python_version(),
                    "load_avg": [round(x, 2) for x in os.getloadavg()]},
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "changed"}, indent=2))
    print("changed:", ", ".join(f"{s} ({', '.join(c)})" for s, c in changed.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
