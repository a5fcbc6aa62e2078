"""Benchmark: the train runner's steady-state tokens/s against a bare `transformers.Trainer`.

Target (issue 5): the runner's loop at least 1.0x the Trainer's, on the same model, data
and steps, side by side in one process. Both train the same freshly initialised Llama
(seed 0) with AdamW (lr 3e-4, constant), gradient clipping at 1.0, fp32, batch 16 of
fixed-length 64-token sequences (so tokens per step are equal by construction), no
evaluation, no checkpoints, no logging integrations. The first WARMUP steps are excluded;
rounds alternate the order (runner first, then Trainer first, ...) and the median of each
is reported, in tokens per wall-clock second and per CPU second of the process (the
second is the fairer one on a machine shared with other work).

    .venv/bin/python bench/train_throughput.py    # writes bench/results/train_throughput.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

MODEL = {"vocab_size": 512, "hidden_size": 256, "intermediate_size": 1024,
         "num_hidden_layers": 4, "num_attention_heads": 8, "max_position_embeddings": 128}
BATCH, SEQ, LR = 16, 64, 3e-4


def make_model():
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    return LlamaForCausalLM(LlamaConfig(**MODEL, tie_word_embeddings=True))


def make_examples(n: int):
    import torch

    from runners.data.batching import Example

    g = torch.Generator().manual_seed(0)
    ids = torch.randint(1, MODEL["vocab_size"], (n, SEQ), generator=g).tolist()
    return [Example(x, x) for x in ids]


def stamp() -> tuple[float, float]:
    """(wall clock, this process's CPU time over all threads)."""
    return time.perf_counter(), time.process_time()


def steady(stamps: list[tuple[float, float]], warmup: int) -> tuple[float, float]:
    """Tokens per wall second and per CPU second, from the end of step ``warmup`` to the
    end of the last step."""
    tokens = (len(stamps) - warmup) * BATCH * SEQ
    (w0, c0), (w1, c1) = stamps[warmup - 1], stamps[-1]
    return tokens / (w1 - w0), tokens / (c1 - c0)


def run_repro(examples, steps: int, warmup: int) -> tuple[float, float]:
    import torch

    from runners.training.loop import fit

    model = make_model()
    stamps: list[tuple[float, float]] = []
    train = {"max_steps": steps, "batch_size": BATCH, "grad_accum": 1, "max_grad_norm": 1.0,
             "log_every": 1, "optimizer": {"name": "adamw", "lr": LR},
             "scheduler": {"name": "constant"}, "precision": "fp32"}
    fit(model, examples, train, torch.Generator().manual_seed(0), 0,
        on_log=lambda *_: stamps.append(stamp()), say=lambda _: None)
    return steady(stamps, warmup)


def run_trainer(examples, steps: int, warmup: int, out: str) -> tuple[float, float]:
    from transformers import Trainer, TrainerCallback, TrainingArguments

    from runners.data.batching import collate

    stamps: list[tuple[float, float]] = []

    class Stamp(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            stamps.append(stamp())

    args = TrainingArguments(
        output_dir=out, per_device_train_batch_size=BATCH, max_steps=steps, learning_rate=LR,
        lr_scheduler_type="constant", warmup_steps=0, weight_decay=0.0, max_grad_norm=1.0,
        optim="adamw_torch", report_to="none", save_strategy="no", eval_strategy="no",
        logging_strategy="no", dataloader_num_workers=0, disable_tqdm=True, use_cpu=True,
        remove_unused_columns=False, seed=0,
    )
    trainer = Trainer(model=make_model(), args=args, train_dataset=examples,
                      data_collator=lambda batch: collate(batch, 0), callbacks=[Stamp()])
    trainer.train()
    return steady(stamps, warmup)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "train_throughput.json"))
    args = ap.parse_args()
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import torch
    import transformers

    examples = make_examples(BATCH * args.steps)
    repro, trainer = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):  # ABBA: neither always goes first
            order = ("runner", "trainer") if r % 2 == 0 else ("trainer", "runner")
            for which in order:
                if which == "runner":
                    repro.append(run_repro(examples, args.steps, args.warmup))
                else:
                    trainer.append(run_trainer(examples, args.steps, args.warmup, tmp))
            print(f"round {r + 1}: runner {repro[-1][0]:7.0f} tok/s ({repro[-1][1]:7.0f} per CPU s)"
                  f"   Trainer {trainer[-1][0]:7.0f} tok/s ({trainer[-1][1]:7.0f} per CPU s)",
                  flush=True)
    a, b = statistics.median(x[0] for x in repro), statistics.median(x[0] for x in trainer)
    ca, cb = statistics.median(x[1] for x in repro), statistics.median(x[1] for x in trainer)
    result = {
        "benchmark": "train_throughput",
        "model": {**MODEL, "parameters": sum(p.numel() for p in make_model().parameters())},
        "train": {"batch_size": BATCH, "seq_len": SEQ, "steps": args.steps,
                  "warmup_excluded": args.warmup, "optimizer": "adamw", "precision": "fp32"},
        "rounds": {"runner_tokens_per_s": [round(x[0], 1) for x in repro],
                   "trainer_tokens_per_s": [round(x[0], 1) for x in trainer],
                   "runner_tokens_per_cpu_s": [round(x[1], 1) for x in repro],
                   "trainer_tokens_per_cpu_s": [round(x[1], 1) for x in trainer]},
        "median_runner_tokens_per_s": round(a, 1),
        "median_trainer_tokens_per_s": round(b, 1),
        "ratio_runner_to_trainer": round(a / b, 4),
        "median_runner_tokens_per_cpu_s": round(ca, 1),
        "median_trainer_tokens_per_cpu_s": round(cb, 1),
        "ratio_runner_to_trainer_cpu": round(ca / cb, 4),
        "target": ">= 1.0",
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(),
                    "torch": torch.__version__, "transformers": transformers.__version__,
                    "threads": torch.get_num_threads(),
                    "load_average_after": [round(x, 2) for x in os.getloadavg()]},
    }
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"median: runner {a:.0f} tok/s, Trainer {b:.0f} tok/s -> {a / b:.3f}x wall, "
          f"{ca / cb:.3f}x per CPU second (target >= 1.0) -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
