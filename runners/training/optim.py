"""Optimizers and learning-rate schedules from a spec's ``train`` section."""

from __future__ import annotations

import math
from typing import Any

from runners.errors import RunnerError

OPTIMIZERS = ("adamw", "sgd", "adafactor", "adamw_8bit")


def build_optimizer(params, optimizer: dict[str, Any]):
    """``adamw`` / ``sgd`` / ``adafactor``: torch.optim; ``adamw_8bit``: bitsandbytes."""
    import torch

    name = optimizer["name"]
    lr = float(optimizer["lr"])
    wd = float(optimizer.get("weight_decay") or 0.0)
    if name == "sgd":
        return torch.optim.SGD(
            params, lr=lr, momentum=float(optimizer.get("momentum") or 0.0), weight_decay=wd
        )
    if name == "adafactor":
        eps = optimizer.get("eps") or (None, 1e-3)
        return torch.optim.Adafactor(
            params,
            lr=lr,
            beta2_decay=float(optimizer.get("beta2_decay", -0.8)),
            eps=(None if eps[0] is None else float(eps[0]), float(eps[1])),
            weight_decay=wd,
        )
    betas = tuple(float(b) for b in optimizer.get("betas") or (0.9, 0.999))
    eps = float(optimizer.get("eps") or 1e-8)
    if name == "adamw_8bit":
        from runners.models.adapters import import_bitsandbytes

        bnb = import_bitsandbytes("train.optimizer.name: adamw_8bit")
        return bnb.optim.AdamW8bit(params, lr=lr, betas=betas, eps=eps, weight_decay=wd)
    if name != "adamw":
        raise RunnerError(
            f"train.optimizer.name: unknown value {name!r} (expected: {', '.join(OPTIMIZERS)})"
        )
    return torch.optim.AdamW(params, lr=lr, betas=betas, eps=eps, weight_decay=wd)


def lr_factor(step: int, total: int, name: str, warmup: int) -> float:
    """The learning-rate multiplier for optimizer step ``step`` (0-based) of ``total``.

    Linear warmup from 1/warmup to 1 over the first ``warmup`` steps, then constant,
    linear decay towards 0, or half a cosine towards 0.
    """
    if step < warmup:
        return (step + 1) / warmup
    if name == "constant":
        return 1.0
    progress = (step - warmup) / max(1, total - warmup)
    if name == "linear":
        return max(0.0, 1.0 - progress)
    return 0.5 * (1.0 + math.cos(math.pi * progress))


def build_scheduler(optimizer, scheduler: dict[str, Any], total_steps: int):
    import torch

    if scheduler.get("warmup_steps") is not None:
        warmup = min(int(scheduler["warmup_steps"]), total_steps)
    else:
        warmup = int(round(float(scheduler.get("warmup_ratio") or 0.0) * total_steps))
    name = scheduler["name"]
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: lr_factor(step, total_steps, name, warmup)
    )
