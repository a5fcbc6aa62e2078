"""Evaluation throughput: repro's task runner against lm-eval's HFLM, side by side, one run.

Same model (a shipped spec's trained model), same task files, same settings (batch size,
greedy generation, stop strings, max tokens, zero-shot, bootstrap off), one CPU thread.
Two tasks: ``agreement`` (multiple choice, 200 documents x 2 choices) and a generation task
over the plural built-in's test rows (``generate_until``, batched). Rounds alternate A/B;
the median of each is kept. Results: examples per second, and the ratio (ours / lm-eval).

    .venv/bin/python bench/eval_throughput.py [--model runs/tiny-sft-plural/model] [--rounds 3]
    # writes bench/results/eval_throughput.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

GEN_TASK = """\
task: plural_gen
dataset_path: json
dataset_kwargs:
  data_files: {{test: {data}}}
test_split: test
output_type: generate_until
doc_to_text: "Q: {{{{instruction}}}}\\nA: "
doc_to_target: output
generation_kwargs: {{until: ["\\n"], max_gen_toks: 16, do_sample: false}}
metric_list:
  - {{metric: exact_match}}
"""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="runs/tiny-sft-plural/model")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--gen-docs", type=int, default=100)
    args = ap.parse_args()

    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch.set_num_threads(1)
    from lm_eval.models.huggingface import HFLM

    from repro.spec.tasks import load_task
    from runners.data.builtin.plural import plural
    from runners.scoring.lmeval import run_lm_eval
    from runners.scoring.tasks import run_task

    model = AutoModelForCausalLM.from_pretrained(ROOT / args.model).eval()
    tok = AutoTokenizer.from_pretrained(ROOT / args.model)
    lm = HFLM(pretrained=model, tokenizer=tok, batch_size=args.batch_size, device="cpu")
    ws = Path(tempfile.mkdtemp(prefix="eval-bench-"))
    (ws / "tasks").mkdir()
    (ws / "tasks/agreement.yaml").write_text((ROOT / "tasks/agreement.yaml").read_text())
    (ws / "tasks/agreement.jsonl").write_text((ROOT / "tasks/agreement.jsonl").read_text())
    rows = plural(args.gen_docs, 99)
    (ws / "gen").mkdir()
    (ws / "gen/plural.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (ws / "gen/plural_gen.yaml").write_text(GEN_TASK.format(data="gen/plural.jsonl"))
    boot = {"iters": 0, "seed": 0}
    out = {"model": args.model, "batch_size": args.batch_size, "rounds": args.rounds,
           "threads": 1, "tasks": {}}
    for path in ("tasks/agreement.yaml", "gen/plural_gen.yaml"):
        task = load_task(ws, path)
        times = {"repro": [], "lm-eval": []}
        results = {}
        for _ in range(args.rounds):
            t0 = time.perf_counter()
            results["repro"] = run_task(model, tok, ws, load_task(ws, path), num_fewshot=0,
                                        limit=None, seed=0, boot=boot,
                                        batch_size=args.batch_size)
            times["repro"].append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            results["lm-eval"] = run_lm_eval(model, tok, ws, [{"path": path, "num_fewshot": 0,
                                                               "limit": None}], seed=0,
                                             boot=boot, batch_size=args.batch_size,
                                             lm=lm)[task.task]
            times["lm-eval"].append(time.perf_counter() - t0)
        n = results["repro"]["n"]
        med = {k: statistics.median(v) for k, v in times.items()}
        metric = "acc" if task.output_type == "multiple_choice" else "exact_match"
        out["tasks"][task.task] = {
            "output_type": task.output_type, "examples": n,
            "seconds": {k: round(v, 3) for k, v in med.items()},
            "examples_per_s": {k: round(n / v, 1) for k, v in med.items()},
            "speedup": round(med["lm-eval"] / med["repro"], 2),
            metric: {k: r[metric] for k, r in results.items()},
        }
        print(f"{task.task:12s} {task.output_type:16s} n={n:4d}  repro "
              f"{n / med['repro']:7.1f}/s  lm-eval {n / med['lm-eval']:7.1f}/s  "
              f"x{med['lm-eval'] / med['repro']:.2f}  {metric}: "
              f"{results['repro'][metric]} vs {results['lm-eval'][metric]}", flush=True)
    dest = ROOT / "bench/results/eval_throughput.json"
    dest.write_text(json.dumps(out, indent=2) + "\n")
    print(f"-> {dest.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
