"""Benchmark: peak memory of QLoRA (4-bit nf4 base + LoRA) against LoRA on an fp32 base.

Target (issue 5): QLoRA's peak at most 0.5x LoRA's, on a model of at least 20M
parameters, most of them in linear layers, counted above the process's baseline after
imports. Each variant runs in a fresh process: import the stack, note the resident set
size (the baseline), load the saved base through the runner's loader (quantized to nf4 for
QLoRA), add the adapter, train a few steps with the runner's loop, and report the peak
resident set size (ru_maxrss) minus the baseline.

    .venv/bin/python bench/qlora_memory.py     # writes bench/results/qlora_memory.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODEL = {"vocab_size": 2048, "hidden_size": 768, "intermediate_size": 3072,
         "num_hidden_layers": 8, "num_attention_heads": 12, "max_position_embeddings": 256}
BATCH, SEQ = 2, 64
SHARD = "16MB"  # the base checkpoint's shard size: a 4-bit load reads one shard at a time
TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def hwm_bytes() -> int:
    """The peak resident set size since the last reset (VmHWM)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def reset_hwm() -> None:
    with open("/proc/self/clear_refs", "w") as f:  # Linux >= 4.0: "5" resets VmHWM
        f.write("5")


def child(kind: str, base: str, steps: int) -> dict:
    import bitsandbytes  # noqa: F401
    import peft  # noqa: F401
    import torch
    import transformers  # noqa: F401

    from runners.data.batching import Example
    from runners.models import modeling
    from runners.training.loop import fit

    baseline = rss_bytes()
    peft_section = {"kind": kind, "r": 16, "alpha": 32, "dropout": 0.0,
                    "target_modules": TARGETS, "modules_to_save": [], "quant_type": "nf4",
                    "double_quant": True, "compute_dtype": "fp32"}
    quant = modeling.quantization_config(peft_section) if kind == "qlora" else None
    model = modeling.load_pretrained(base, quantization=quant)
    model = modeling.add_adapter(model, peft_section)
    after_load = rss_bytes()
    peak_load = hwm_bytes()
    reset_hwm()
    g = torch.Generator().manual_seed(0)
    examples = [Example(ids, ids) for ids in
                torch.randint(0, MODEL["vocab_size"], (64, SEQ), generator=g).tolist()]
    train = {"max_steps": steps, "batch_size": BATCH, "grad_accum": 1, "max_grad_norm": 1.0,
             "log_every": 1, "optimizer": {"name": "adamw", "lr": 1e-4},
             "scheduler": {"name": "constant"}, "precision": "fp32"}
    result = fit(model, examples, train, g, 0, say=lambda _: None)
    peak_train = hwm_bytes()
    trainable, total = modeling.parameter_counts(model)
    return {"kind": kind, "baseline_rss": baseline, "after_load_rss": after_load,
            "load_peak_above_baseline": peak_load - baseline,
            "train_peak_above_baseline": peak_train - baseline,
            "trainable": trainable, "first_loss": result.first_loss,
            "last_loss": result.last_loss}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--child", nargs=2, metavar=("KIND", "BASE"), help=argparse.SUPPRESS)
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "qlora_memory.json"))
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(args.child[0], args.child[1], args.steps)))
        return 0

    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    with tempfile.TemporaryDirectory() as tmp:
        torch.manual_seed(0)
        model = LlamaForCausalLM(LlamaConfig(**MODEL))
        total = sum(p.numel() for p in model.parameters())
        linear = sum(m.weight.numel() for m in model.modules()
                     if isinstance(m, torch.nn.Linear))
        model.save_pretrained(tmp, max_shard_size=SHARD)
        del model
        runs = {}
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        for kind in ("lora", "qlora"):
            proc = subprocess.run(
                [sys.executable, __file__, "--steps", str(args.steps), "--child", kind, tmp],
                capture_output=True, text=True, env=env, check=False,
            )
            if proc.returncode != 0:
                sys.exit(f"{kind} failed:\n{proc.stderr}")
            runs[kind] = json.loads(proc.stdout.strip().splitlines()[-1])
    ratio = (runs["qlora"]["train_peak_above_baseline"]
             / runs["lora"]["train_peak_above_baseline"])
    def overall(r: dict) -> int:
        return max(r["load_peak_above_baseline"], r["train_peak_above_baseline"])

    whole = overall(runs["qlora"]) / overall(runs["lora"])
    result = {
        "benchmark": "qlora_memory",
        "model": {**MODEL, "parameters": total, "linear_parameters": linear,
                  "linear_share": round(linear / total, 4)},
        "train": {"steps": args.steps, "batch_size": BATCH, "seq_len": SEQ, "r": 16,
                  "targets": TARGETS},
        "runs": runs,
        "ratio_qlora_to_lora": round(ratio, 4),  # training (model resident + steps)
        "ratio_qlora_to_lora_incl_load": round(whole, 4),
        "malloc_mmap_threshold": os.environ.get("MALLOC_MMAP_THRESHOLD_"),
        "target": "<= 0.5",
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(),
                    "torch": torch.__version__},
    }
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    mib = 1 << 20
    for kind, r in runs.items():
        print(f"{kind:6s} above baseline: training peak "
              f"{r['train_peak_above_baseline'] / mib:7.1f} MiB, loading peak "
              f"{r['load_peak_above_baseline'] / mib:7.1f} MiB, model resident "
              f"{(r['after_load_rss'] - r['baseline_rss']) / mib:6.1f} MiB")
    print(f"ratio qlora/lora: {ratio:.3f} training (target <= 0.5), {whole:.3f} including "
          f"the load; {total / 1e6:.1f}M parameters, "
          f"{100 * linear / total:.0f}% in linear layers -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
