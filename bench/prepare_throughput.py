"""Benchmark: the prepare stage on 200k instruction examples against a naive per-example map.

Target (issue 3): repro's prepare at least 5x the rows/s of the naive baseline.

- naive: ``datasets.Dataset.from_json`` then ``.map(encode_one)`` without batching, one
  example at a time through the tokenizer (what a first script usually does); it only
  tokenizes and labels, nothing else.
- repro: ``runners.prepare.prepare`` on the same file and tokenizer: load through
  ``datasets``, normalise, drop invalid rows, length filter, exact dedupe, seeded split,
  batched tokenization, Parquet writing, card. Timed with 1 worker and with 2.

Both use the same BPE tokenizer (trained once on a sample) and the same JSON-lines file of
unique rows. Runs alternate, and the median of the rounds is reported.

    .venv/bin/python bench/prepare_throughput.py     # writes bench/results/prepare_throughput.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TOKENIZERS_PARALLELISM", "true")


def make_rows(n: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    seen, rows = set(), []
    while len(rows) < n:
        a, b = rng.randint(0, 10**6), rng.randint(0, 10**6)
        if (a, b) in seen:
            continue
        seen.add((a, b))
        rows.append({"instruction": f"What is {a} plus {b}?", "input": "", "output": str(a + b)})
    return rows


def naive(path: Path, tokenizer) -> tuple[float, int]:
    import datasets

    from runners.data.batching import encode

    datasets.disable_progress_bars()
    t = time.perf_counter()
    with tempfile.TemporaryDirectory() as cache:
        ds = datasets.Dataset.from_json(str(path), cache_dir=cache)

        def one(row):
            e = encode(tokenizer, row, "instruction", 10**6)
            return {"input_ids": e.input_ids, "labels": e.labels}

        out = ds.map(one, remove_columns=ds.column_names, keep_in_memory=True)
        n = len(out)
    return time.perf_counter() - t, n


def ours(path: Path, tokdir: Path, workers: int, work: Path) -> tuple[float, int]:
    from runners.prepare import prepare

    dataset = {
        "source": {"path": str(path)},
        "format": "instruction",
        "seed": 1,
        "split": {"validation": 0.01, "test": 0.01},
        "workers": workers,
        "tokenizer_from": {"path": str(tokdir)},
    }
    out = work / f"prep-{workers}"
    t = time.perf_counter()
    m = prepare(dataset, out, work)
    elapsed = time.perf_counter() - t
    shutil.rmtree(out)
    return elapsed, sum(m["rows"].values())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "prepare_throughput.json"))
    args = ap.parse_args()

    from runners.data.bpe import train_bpe, wrap
    from runners.models.modeling import load_tokenizer

    with tempfile.TemporaryDirectory(prefix="repro-bench-") as tmp:
        work = Path(tmp)
        rows = make_rows(args.rows, 0)
        data = work / "instructions.jsonl"
        data.write_text("".join(json.dumps(r) + "\n" for r in rows))
        sample = [f"Q: {r['instruction']}\nA: {r['output']}" for r in rows[:20_000]]
        tokdir = work / "tokenizer"
        wrap(train_bpe(sample, 2048, 2)).save_pretrained(str(tokdir))
        tokenizer = load_tokenizer(tokdir)

        times: dict[str, list[float]] = {"naive": [], "repro_1_worker": [], "repro_2_workers": []}
        counts: dict[str, int] = {}
        for r in range(args.rounds):
            for name in times:
                if name == "naive":
                    s, n = naive(data, tokenizer)
                else:
                    s, n = ours(data, tokdir, 1 if name == "repro_1_worker" else 2, work)
                times[name].append(s)
                counts[name] = n
                print(f"round {r + 1} {name}: {s:.2f} s, {n / s:,.0f} rows/s", flush=True)

    med = {k: statistics.median(v) for k, v in times.items()}
    rate = {k: counts[k] / med[k] for k in med}
    result = {
        "benchmark": "prepare_throughput",
        "rows": args.rows,
        "rounds": args.rounds,
        "seconds": times,
        "median_seconds": med,
        "rows_per_second": {k: round(v) for k, v in rate.items()},
        "speedup_vs_naive": {k: round(rate[k] / rate["naive"], 2) for k in rate if k != "naive"},
        "target": ">= 5x",
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "platform": platform.platform()},
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result["rows_per_second"]), json.dumps(result["speedup_vs_naive"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
