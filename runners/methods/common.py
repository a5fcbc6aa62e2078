"""What every TRL-backed method shares: the trainer arguments a spec's ``train`` section
maps to, the repro optimizer and schedule inside TRL's trainers, and a log collector.

The optimizer and learning-rate schedule are built by ``runners.training.optim``, exactly as for
the plain loop (a trainer subclass overrides ``create_optimizer``/``create_scheduler``),
so ``train.optimizer`` and ``train.scheduler`` mean the same thing for every method.
"""

from __future__ import annotations

import contextlib
import math
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

PROGRESS_EVERY_S = 2.0


def trainer_args(config_cls, t: dict[str, Any], seed: int, out_dir: str, **method: Any):
    """A TRL ``<X>Config`` from the shared ``train`` fields plus the method's own ones."""
    import torch

    precision = t.get("precision") or "fp32"
    return config_cls(
        output_dir=out_dir,
        report_to="none",
        use_cpu=not torch.cuda.is_available(),
        seed=seed,
        data_seed=seed,
        per_device_train_batch_size=int(t["batch_size"]),
        gradient_accumulation_steps=int(t["grad_accum"]),
        max_steps=int(t["max_steps"]) if t.get("max_steps") else -1,
        num_train_epochs=float(t.get("epochs") or 1),
        learning_rate=float(t["optimizer"]["lr"]),
        max_grad_norm=float(t["max_grad_norm"]) if t.get("max_grad_norm") else 0.0,
        logging_steps=int(t["log_every"]),
        save_strategy="no",
        bf16=precision == "bf16",
        fp16=precision == "fp16",
        gradient_checkpointing=bool(t.get("gradient_checkpointing")),
        disable_tqdm=True,
        dataloader_num_workers=0,
        log_level="warning",
        **method,
    )


def with_repro_optimizer(trainer_cls, t: dict[str, Any]):
    """``trainer_cls`` whose optimizer and schedule come from ``runners.training.optim``."""
    from runners.training.optim import build_optimizer, build_scheduler

    class Trainer(trainer_cls):
        def create_optimizer(self, model=None):
            if self.optimizer is None:
                params = [p for p in (model or self.model).parameters() if p.requires_grad]
                self.optimizer = build_optimizer(params, t["optimizer"])
            return self.optimizer

        def create_scheduler(self, num_training_steps: int, optimizer=None):
            if self.lr_scheduler is None:
                self.lr_scheduler = build_scheduler(
                    optimizer or self.optimizer, t["scheduler"], num_training_steps
                )
            return self.lr_scheduler

    Trainer.__name__ = Trainer.__qualname__ = f"Repro{trainer_cls.__name__}"
    return Trainer


@dataclass
class Log:
    """The logged windows of one run: ``rows`` of (step, loss, lr, *extra)."""

    extra: tuple[str, ...] = ()  # method-specific columns after step, loss, lr
    keys: tuple[str, ...] = ()  # the trainer's log key of each extra column
    rows: list[tuple[float, ...]] = field(default_factory=list)

    def first(self, column: str) -> float:
        return self._column(column)[0] if self.rows else math.nan

    def last(self, column: str) -> float:
        return self._column(column)[-1] if self.rows else math.nan

    def _column(self, column: str) -> list[float]:
        i = ("step", "loss", "lr", *self.extra).index(column)
        return [r[i] for r in self.rows]

    def csv(self) -> str:
        header = ",".join(("step", "loss", "lr", *self.extra))
        lines = [f"{int(r[0])},{r[1]:.6f},{r[2]:.6g}" + "".join(f",{v:.6f}" for v in r[3:])
                 for r in self.rows]
        return header + "\n" + "".join(line + "\n" for line in lines)


def log_callback(log: Log, on_log: Callable[[int, dict[str, float]], None],
                 say: Callable[[str], None]):
    """A TrainerCallback filling ``log`` (and MLflow through ``on_log``) from the trainer's
    logs, and printing a progress line at most every two seconds."""
    from transformers import TrainerCallback

    class Collect(TrainerCallback):
        def __init__(self) -> None:
            self.started = self.last_print = time.monotonic()

        def on_log(self, args, state, control, logs=None, **kwargs):
            logs = logs or {}
            if "loss" not in logs:  # the end-of-training summary
                return
            lr = float(logs.get("learning_rate", math.nan))
            extra = [float(logs.get(k, math.nan)) for k in log.keys]
            log.rows.append((state.global_step, float(logs["loss"]), lr, *extra))
            on_log(state.global_step, {"loss": float(logs["loss"]), "lr": lr,
                                       **dict(zip(log.extra, extra, strict=True))})
            now = time.monotonic()
            if now - self.last_print >= PROGRESS_EVERY_S or state.global_step == state.max_steps:
                self.last_print = now
                rate = state.global_step / max(now - self.started, 1e-9)
                shown = "".join(f"  {n} {v:.4f}" for n, v in zip(log.extra, extra, strict=True))
                say(f"step {state.global_step}/{state.max_steps}  loss {logs['loss']:.4f}"
                    f"{shown}  lr {lr:.2e}  {rate:.1f} steps/s")

    return Collect()


@contextlib.contextmanager
def quiet_hf() -> Iterator[None]:
    """No progress bars from datasets or transformers, no info-level library logging."""
    import datasets
    from transformers.utils import logging as hf_logging

    datasets.disable_progress_bars()
    hf_logging.disable_progress_bar()
    level = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    try:
        with warnings.catch_warnings():
            # TRL 1.16 still names transformers 5's activation checkpointing the old way
            warnings.filterwarnings("ignore", message=".*gradient_checkpointing.* is deprecated",
                                    category=FutureWarning)
            yield
    finally:
        hf_logging.set_verbosity(level)


def drop_printer(trainer) -> None:
    """``disable_tqdm`` makes transformers print every log dict; the callback prints instead."""
    from transformers.trainer_callback import PrinterCallback

    trainer.remove_callback(PrinterCallback)
