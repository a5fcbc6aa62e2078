"""The training loop: plain torch, one optimizer step per ``grad_accum`` micro-batches.

The data is an endless stream of micro-batches (``DataOrder``): each pass over the
examples is a new permutation drawn from the run's data-order generator, so
``max_steps`` may cross epoch boundaries and the order is fixed by the seed alone.

Everything the loop carries from step to step (weights, optimizer, scheduler, gradient
scaler, RNG states, data position, its own counters) goes into a checkpoint, so a run
resumed from one ends with the same weights, bit for bit, as a run never stopped.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from repro.contract import progress
from runners.data.batching import Example, collate
from runners.errors import RunnerError
from runners.training.distributed import Dist
from runners.training.optim import build_optimizer, build_scheduler
from runners.training.precision import setup as setup_precision

PROGRESS_EVERY_S = 2.0


@dataclass
class FitResult:
    steps: int
    tokens: int
    micro_batches: int
    first_loss: float
    last_loss: float  # mean over the last logging window
    log: list[tuple[int, float, float]] = field(default_factory=list)  # (step, loss, lr)
    resumed_from: int | None = None  # the checkpoint step this run started from
    seconds: float = 0.0  # training time in this process (excludes set-up)


@dataclass
class LoopState:
    """The loop's own counters: part of every checkpoint."""

    step: int = 0
    tokens: int = 0
    micro_batches: int = 0
    first_loss: float = math.nan
    last_loss: float = math.nan
    log: list[tuple[int, float, float]] = field(default_factory=list)
    window: list[float] = field(default_factory=list)


class DataOrder:
    """The training examples served as micro-batches in a seeded, resumable order.

    Each pass is ``torch.randperm`` drawn from ``generator``; the state is the generator
    state at the start of the current pass plus the position in it. With ``world``
    processes each global micro-batch of ``batch_size * world`` examples is split by
    rank, and a pass's last incomplete global batch is dropped (every rank must step).
    """

    def __init__(
        self, examples: Sequence[Example], batch_size: int, generator, rank: int = 0,
        world: int = 1,
    ) -> None:
        if world > 1 and len(examples) < batch_size * world:
            raise RunnerError(
                f"{len(examples)} training examples cannot fill one batch of {batch_size} "
                f"on each of {world} processes"
            )
        self.examples = examples
        self.batch_size = batch_size
        self.generator = generator
        self.rank, self.world = rank, world
        self._order: list[int] | None = None
        self._pass_state = None
        self._pos = 0

    def _new_pass(self) -> None:
        import torch

        self._pass_state = self.generator.get_state()
        self._order = torch.randperm(len(self.examples), generator=self.generator).tolist()
        self._pos = 0

    def next(self) -> list[Example]:
        span = self.batch_size * self.world
        remaining = 0 if self._order is None else len(self._order) - self._pos
        if remaining <= 0 or (self.world > 1 and remaining < span):
            self._new_pass()
        chunk = self._order[self._pos : self._pos + span]
        self._pos += span
        mine = chunk[self.rank * self.batch_size : (self.rank + 1) * self.batch_size]
        return [self.examples[j] for j in mine]

    def state_dict(self) -> dict[str, Any]:
        return {"pass_state": self._pass_state, "pos": self._pos}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state["pass_state"] is None:
            return
        self.generator.set_state(state["pass_state"])
        self._new_pass()
        self._pos = int(state["pos"])


def total_steps(n_examples: int, train: dict[str, Any], world: int = 1) -> int:
    if train.get("max_steps") is not None:
        return int(train["max_steps"])
    span = int(train["batch_size"]) * world
    micro_per_epoch = math.ceil(n_examples / span) if world == 1 else n_examples // span
    return int(train["epochs"]) * max(1, math.ceil(micro_per_epoch / int(train["grad_accum"])))


def fit(
    model,
    examples: Sequence[Example],
    train: dict[str, Any],
    generator,
    pad_id: int,
    on_log: Callable[[int, float, float], None] | None = None,
    say: Callable[[str], None] = print,
    *,
    checkpoints=None,
    dist: Dist | None = None,
    intermediate=None,
) -> FitResult:
    """Train ``model`` in place on ``examples`` as the ``train`` section says.

    ``checkpoints`` (a ``runners.training.checkpoint.Checkpoints``) makes the run resumable;
    ``dist`` spreads it over the processes of ``accelerate launch``; ``intermediate`` (a
    ``runners.training.intermediate.Intermediate``) evaluates every N steps.
    """
    import torch

    from runners.training.checkpoint import rng_state, set_rng_state

    if not examples:
        raise ValueError("no training examples")
    dist = dist or Dist()
    steps = total_steps(len(examples), train, dist.world)
    accum = int(train["grad_accum"])
    log_every = max(1, int(train["log_every"]))
    clip = train.get("max_grad_norm")
    device = dist.device
    precision = setup_precision(train["precision"], device.split(":")[0])
    if dist.accelerator is None and not getattr(model, "is_loaded_in_4bit", False):
        model.to(device)

    optimizer = build_optimizer(
        [p for p in model.parameters() if p.requires_grad], train["optimizer"]
    )
    model, optimizer = dist.prepare(model, optimizer)
    params = [p for p in model.parameters() if p.requires_grad]
    scheduler = build_scheduler(optimizer, train["scheduler"], steps)
    order = DataOrder(examples, int(train["batch_size"]), generator, dist.rank, dist.world)
    state = LoopState()
    bare = dist.unwrap(model)

    resumed_from = None
    if checkpoints is not None:
        if dist.sharded:
            raise RunnerError(
                "train.checkpoint: resuming FSDP or DeepSpeed runs is not supported "
                "(their state is sharded); drop the checkpoint section or use DDP"
            )
        latest = checkpoints.latest(clean=dist.main)
        dist.barrier()
        if latest is not None:
            saved = checkpoints.load(latest)
            named = dict(bare.named_parameters())
            with torch.no_grad():
                for name, value in saved["model"].items():
                    named[name].copy_(value)
            optimizer.load_state_dict(saved["optimizer"])
            scheduler.load_state_dict(saved["scheduler"])
            precision.load_state_dict(saved["scaler"])
            order.load_state_dict(saved["data"])
            set_rng_state(saved["rng"])
            state = LoopState(**saved["loop"])
            state.log = [tuple(x) for x in state.log]
            resumed_from = state.step
            say(f"resumed from checkpoint {checkpoints.directory.name}/{latest.name}")

    def snapshot() -> dict[str, Any]:
        return {
            "model": {n: p.detach() for n, p in bare.named_parameters() if p.requires_grad},
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "scaler": precision.state_dict(),
            "data": order.state_dict(),
            "rng": rng_state(),
            "loop": asdict(state),
        }

    model.train()
    started = last_print = time.monotonic()
    first, first_tokens = state.step, state.tokens
    bar = progress.task("steps", steps, label="train") if dist.main else None
    if bar is not None and first:
        bar.update(first)
    for step in range(state.step + 1, steps + 1):
        lr = scheduler.get_last_lr()[0]
        step_loss = 0.0
        for i in range(accum):
            batch = {k: v.to(device) for k, v in collate(order.next(), pad_id).items()}
            sync = contextlib.nullcontext() if i == accum - 1 else dist.no_sync(model)
            with sync:
                with precision.autocast():
                    # no key/value cache in training: building one costs time and memory
                    loss = model(**batch, use_cache=False).loss
                precision.backward(loss / accum)
            step_loss += loss.item() / accum
            state.tokens += int(batch["attention_mask"].sum())
            state.micro_batches += 1
        if clip:
            precision.unscale(optimizer)
            torch.nn.utils.clip_grad_norm_(params, float(clip))
        precision.step(optimizer)
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        step_loss = dist.mean(step_loss)

        if step == 1:
            state.first_loss = step_loss
        state.window.append(step_loss)
        if step % log_every == 0 or step == steps:
            mean = sum(state.window) / len(state.window)
            state.log.append((step, mean, lr))
            state.last_loss = mean
            state.window = []
            if on_log is not None and dist.main:
                on_log(step, mean, lr)
        state.step = step
        if intermediate is not None:
            intermediate.maybe(step, model, device)
        if checkpoints is not None and checkpoints.due(step, steps):
            if dist.main:
                path = checkpoints.save(step, snapshot())
                say(f"checkpoint {checkpoints.directory.name}/{path.name}")
            dist.barrier()
        now = time.monotonic()
        elapsed = max(now - started, 1e-9)
        if bar is not None:
            bar.update(step, loss=step_loss, lr=lr,
                       tokens_per_s=(state.tokens - first_tokens) * dist.world / elapsed)
        if dist.main and progress.lines() and (now - last_print >= PROGRESS_EVERY_S
                                               or step == steps):
            last_print = now
            rate = (step - first) / elapsed
            eta = progress.eta_seconds(step - first, steps - first, elapsed)
            say(f"step {step}/{steps}  loss {step_loss:.4f}  lr {lr:.2e}  {rate:.1f} steps/s"
                f"  eta {progress.fmt_duration(eta)}")
    if bar is not None:
        bar.close()
    seconds = time.monotonic() - started
    model.eval()
    return FitResult(
        steps=steps,
        tokens=dist.sum(state.tokens),
        micro_batches=state.micro_batches * dist.world,
        first_loss=state.first_loss,
        last_loss=state.last_loss,
        log=state.log,
        resumed_from=resumed_from,
        seconds=seconds,
    )
