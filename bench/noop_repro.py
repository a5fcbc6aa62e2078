"""Benchmark: a no-op `repro` against a no-op `dvc repro` on the same, fully built workspace.

Target (issue 2): repro's wall time <= 1.5x dvc repro's; issue 9: no slower (<= 1.0x). Both are timed as whole commands,
interpreter start-up included, alternating A/B so machine noise hits both alike.

    .venv/bin/repro                        # build everything first
    .venv/bin/python bench/noop_repro.py   # then measure; writes bench/results/noop_repro.json
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


def timed(cmd: list[str], cwd: Path, env: dict) -> float:
    t = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - t
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{proc.stdout}\n{proc.stderr}")
    return elapsed


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workspace", default=str(ROOT))
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "noop_repro.json"))
    args = ap.parse_args()
    ws = Path(args.workspace)
    bindir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}",
           "DVC_NO_ANALYTICS": "1", "NO_COLOR": "1"}
    dvc = [str(bindir / "dvc"), "repro"]
    rep = [str(bindir / "repro")]
    status = subprocess.run([str(bindir / "dvc"), "status", "--json"], cwd=ws, env=env,
                            capture_output=True, text=True)
    if status.returncode != 0 or json.loads(status.stdout or "{}"):
        sys.exit("the workspace is not fully built: run `repro` first")
    timed(dvc, ws, env)  # warm caches
    a, b = [], []
    for _ in range(args.rounds):
        a.append(timed(dvc, ws, env))
        b.append(timed(rep, ws, env))
    result = {
        "benchmark": "no-op repro vs no-op dvc repro",
        "rounds": args.rounds,
        "dvc_repro_s": {"median": round(statistics.median(a), 3), "all": [round(x, 3) for x in a]},
        "repro_s": {"median": round(statistics.median(b), 3), "all": [round(x, 3) for x in b]},
        "ratio_median": round(statistics.median(b) / statistics.median(a), 3),
        "target": "<= 1.0",
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                    "python": platform.python_version()},
        "command": "python bench/noop_repro.py",
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
