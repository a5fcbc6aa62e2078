"""Benchmark: `repro diff` between results of the shipped three-spec pipeline.

Target (issue 4): under 1 s, no ML imports. Timed as whole commands (interpreter start-up
included), median of N rounds, for: two fine-tunes (each walks its chain down to the
pretrained base and both prepared data sets), a result against itself, and a `lineage` tree.

    .venv/bin/repro                          # build everything first
    .venv/bin/python bench/diff_speed.py     # writes bench/results/diff_speed.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CASES = {
    "diff tiny-sft-full tiny-sft-lora": ["diff", "tiny-sft-full", "tiny-sft-lora"],
    "diff tiny-sft-lora runs/tiny-sft-lora": ["diff", "tiny-sft-lora", "runs/tiny-sft-lora"],
    "diff --json tiny-pretrain tiny-sft-full": ["diff", "--json", "tiny-pretrain", "tiny-sft-full"],
    "lineage tiny-sft-lora": ["lineage", "tiny-sft-lora"],
}
HEAVY = ("torch", "transformers", "datasets", "peft", "trl", "mlflow", "dvc", "numpy")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workspace", default=str(ROOT))
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "diff_speed.json"))
    args = ap.parse_args()
    ws = Path(args.workspace)
    env = {**os.environ, "NO_COLOR": "1"}
    results = {}
    for label, argv in CASES.items():
        cmd = [sys.executable, "-m", "repro.cli", *argv]
        times = []
        for i in range(args.rounds + 1):
            t = time.perf_counter()
            proc = subprocess.run(cmd, cwd=ws, env=env, capture_output=True, text=True)
            elapsed = time.perf_counter() - t
            if proc.returncode not in (0, 1):
                sys.exit(f"{' '.join(cmd)} failed:\n{proc.stdout}\n{proc.stderr}")
            if i:  # the first round warms the file cache
                times.append(elapsed)
        results[label] = {"median_s": round(statistics.median(times), 3),
                          "max_s": round(max(times), 3), "rounds": args.rounds}
    probe = ("import sys\nfrom repro.cli import main\nimport contextlib, io\n"
             "with contextlib.redirect_stdout(io.StringIO()):\n"
             "    main(['diff', 'tiny-sft-full', 'tiny-sft-lora'])\n"
             f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))")
    heavy = subprocess.run([sys.executable, "-c", probe], cwd=ws, env=env, capture_output=True,
                           text=True).stdout.strip()
    out = {
        "benchmark": "repro diff / lineage on the shipped pipeline's results",
        "target_s": 1.0,
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                    "load_avg_1m": round(os.getloadavg()[0], 2)},
        "results": results,
        "ml_modules_imported_by_diff": heavy.split(",") if heavy else [],
    }
    Path(args.out).write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2))
    worst = max(r["median_s"] for r in results.values())
    return 0 if worst < 1.0 and not heavy else 1


if __name__ == "__main__":
    sys.exit(main())
