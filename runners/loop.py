"""The training loop: plain torch, one optimizer step per ``grad_accum`` micro-batches.

The data is an endless stream of micro-batches: each pass over the examples is a new
permutation drawn from the run's data-order generator, so ``max_steps`` may cross
epoch boundaries and the order is fixed by the seed alone.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from runners.batching import Example, collate
from runners.optim import build_optimizer, build_scheduler

PROGRESS_EVERY_S = 2.0


@dataclass
class FitResult:
    steps: int
    tokens: int
    micro_batches: int
    first_loss: float
    last_loss: float  # mean over the last logging window
    log: list[tuple[int, float, float]] = field(default_factory=list)  # (step, loss, lr)


def total_steps(n_examples: int, train: dict[str, Any]) -> int:
    if train.get("max_steps") is not None:
        return int(train["max_steps"])
    micro_per_epoch = math.ceil(n_examples / int(train["batch_size"]))
    return int(train["epochs"]) * max(1, math.ceil(micro_per_epoch / int(train["grad_accum"])))


def micro_batches(
    examples: Sequence[Example], batch_size: int, generator
) -> Iterator[list[Example]]:
    import torch

    while True:
        order = torch.randperm(len(examples), generator=generator).tolist()
        for i in range(0, len(order), batch_size):
            yield [examples[j] for j in order[i : i + batch_size]]


def fit(
    model,
    examples: Sequence[Example],
    train: dict[str, Any],
    generator,
    pad_id: int,
    on_log: Callable[[int, float, float], None] | None = None,
    say: Callable[[str], None] = print,
) -> FitResult:
    """Train ``model`` in place on ``examples`` as the ``train`` section says."""
    import torch

    if not examples:
        raise ValueError("no training examples")
    steps = total_steps(len(examples), train)
    accum = int(train["grad_accum"])
    log_every = max(1, int(train["log_every"]))
    clip = train.get("max_grad_norm")
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = build_optimizer(params, train["optimizer"])
    scheduler = build_scheduler(optimizer, train["scheduler"], steps)
    stream = micro_batches(examples, int(train["batch_size"]), generator)

    model.train()
    result = FitResult(
        steps=steps, tokens=0, micro_batches=0, first_loss=math.nan, last_loss=math.nan
    )
    window: list[float] = []
    started = last_print = time.monotonic()
    for step in range(1, steps + 1):
        lr = scheduler.get_last_lr()[0]
        step_loss = 0.0
        for _ in range(accum):
            batch = collate(next(stream), pad_id)
            loss = model(**batch).loss
            (loss / accum).backward()
            step_loss += loss.item() / accum
            result.tokens += int(batch["attention_mask"].sum())
            result.micro_batches += 1
        if clip:
            torch.nn.utils.clip_grad_norm_(params, float(clip))
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)

        if step == 1:
            result.first_loss = step_loss
        window.append(step_loss)
        if step % log_every == 0 or step == steps:
            mean = sum(window) / len(window)
            result.log.append((step, mean, lr))
            result.last_loss = mean
            window = []
            if on_log is not None:
                on_log(step, mean, lr)
        now = time.monotonic()
        if now - last_print >= PROGRESS_EVERY_S or step == steps:
            last_print = now
            rate = step / max(now - started, 1e-9)
            say(f"step {step}/{steps}  loss {step_loss:.4f}  lr {lr:.2e}  {rate:.1f} steps/s")
    model.eval()
    return result
