"""Intermediate evaluation during training: validation loss every N steps, for sweeps to prune on.

The loop calls ``Intermediate.maybe(step, model)`` after each optimizer step. Evaluating
never changes training: it runs in eval mode under ``no_grad`` and puts every RNG back as
it found it, so the weights are the same, bit for bit, with or without it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from runners.data.batching import Example, collate


@dataclass
class Intermediate:
    """Evaluate every ``every`` steps; ``report(step, value)`` may raise to stop training
    (a pruned sweep trial). ``values`` keeps (step, validation loss)."""

    every: int
    max_examples: int = 64
    report: Callable[[int, float], None] | None = None
    batch_size: int = 32
    examples: Sequence[Example] = ()
    pad_id: int = 0
    values: list[tuple[int, float]] = field(default_factory=list)

    def maybe(self, step: int, model, device: str = "cpu") -> None:
        if step % self.every:
            return
        value = validation_loss(model, self.examples, self.pad_id, self.batch_size, device)
        self.values.append((step, value))
        if self.report is not None:
            self.report(step, value)


def validation_loss(model, examples: Sequence[Example], pad_id: int, batch_size: int,
                    device: str = "cpu") -> float:
    """Mean token loss over ``examples`` (labelled tokens only), RNG states untouched."""
    import torch

    from runners.training.checkpoint import rng_state, set_rng_state

    if not examples:
        return float("nan")
    saved, was_training = rng_state(), model.training
    model.eval()
    total, count = 0.0, 0
    try:
        with torch.no_grad():
            for i in range(0, len(examples), batch_size):
                batch = {k: v.to(device) for k, v in
                         collate(examples[i:i + batch_size], pad_id).items()}
                logits = model(input_ids=batch["input_ids"],
                               attention_mask=batch["attention_mask"], use_cache=False).logits
                labels = batch["labels"][:, 1:]
                logp = torch.nn.functional.cross_entropy(
                    logits[:, :-1].float().reshape(-1, logits.shape[-1]), labels.reshape(-1),
                    ignore_index=-100, reduction="sum")
                total += float(logp)
                count += int((labels != -100).sum())
    finally:
        if was_training:
            model.train()
        set_rng_state(saved)
    return round(total / max(count, 1), 6)
