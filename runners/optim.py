"""Optimizers and learning-rate schedules from a spec's ``train`` section."""

from __future__ import annotations

import math
from typing import Any


def build_optimizer(params, optimizer: dict[str, Any]):
    import torch

    lr = float(optimizer["lr"])
    wd = float(optimizer.get("weight_decay") or 0.0)
    if optimizer["name"] == "sgd":
        return torch.optim.SGD(
            params, lr=lr, momentum=float(optimizer.get("momentum") or 0.0), weight_decay=wd
        )
    betas = tuple(float(b) for b in optimizer.get("betas") or (0.9, 0.999))
    return torch.optim.AdamW(
        params, lr=lr, betas=betas, eps=float(optimizer.get("eps") or 1e-8), weight_decay=wd
    )


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

    warmup = int(round(float(scheduler.get("warmup_ratio") or 0.0) * total_steps))
    name = scheduler["name"]
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: lr_factor(step, total_steps, name, warmup)
    )
