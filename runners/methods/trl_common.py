"""What every TRL-backed method shares: the trainer arguments a spec's ``train`` section
maps to, the repro optimizer and schedule inside TRL's trainers, and a log collector.

The optimizer and learning-rate schedule are built by ``runners.training.optim``, exactly as for
the plain loop (a trainer subclass overrides ``create_optimizer``/``create_scheduler``),
so ``train.optimizer`` and ``train.scheduler`` mean the same thing for every method.
"""

from __future__ import annotations

import contextlib
import math
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from repro.contract import paths, progress
from repro.contract.fsio import dump_json
from runners.data.batching import read_rows
from runners.errors import RunnerError
from runners.harness import Outcome, Stage
from runners.models import modeling

PROGRESS_EVERY_S = 2.0


def trainer_args(config_cls, t: dict[str, Any], seed: int, out_dir: str, **method: Any):
    """A TRL ``<X>Config`` from the shared ``train`` fields plus the method's own ones."""
    import torch

    precision = t["precision"]
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
            self.bar: progress.Task | None = None
            self.loss: float | None = None

        def on_step_end(self, args, state, control, **kwargs):
            if not state.is_world_process_zero:
                return
            if self.bar is None:
                self.bar = progress.task("steps", state.max_steps, label="train")
            self.bar.update(state.global_step, loss=self.loss)

        def on_train_end(self, args, state, control, **kwargs):
            if self.bar is not None:
                self.bar.close()

        def on_log(self, args, state, control, logs=None, **kwargs):
            logs = logs or {}
            if "loss" not in logs:  # the end-of-training summary
                return
            lr = float(logs.get("learning_rate", math.nan))
            extra = [float(logs.get(k, math.nan)) for k in log.keys]
            log.rows.append((state.global_step, float(logs["loss"]), lr, *extra))
            self.loss = float(logs["loss"])
            on_log(state.global_step, {"loss": float(logs["loss"]), "lr": lr,
                                       **dict(zip(log.extra, extra, strict=True))})
            now = time.monotonic()
            if not progress.lines():
                return
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


@dataclass
class Context:
    """What a method's ``build`` gets."""

    train: dict[str, Any]
    fmt: str
    rows: list[dict[str, Any]]
    model: Any
    tokenizer: Any
    seed: int
    root: Path
    out_dir: str
    base: Any = None  # a callable building a fresh copy of the base model (the reference)
    base_location: str | None = None  # the base model's directory or hub id, if any
    teacher: Any = None  # a callable loading the frozen teacher model (distill), if any

    def args(self, config_cls, **method: Any):
        return trainer_args(config_cls, self.train, self.seed, self.out_dir, **method)

    def trainer(self, trainer_cls):
        return with_repro_optimizer(trainer_cls, self.train)

    def reference(self):
        """A frozen copy of the base model; None with LoRA (the base is the model with its
        adapter disabled). Built here: TRL would reload it from the model's name, which
        holds a workspace-relative label, not a loadable path."""
        if self.train.get("peft") is not None or self.base is None:
            return None
        with quiet_hf():
            model = self.base()
        model.eval()
        for p in model.parameters():
            p.requires_grad_(False)
        return model


def fit(st: Stage, build: Callable[[Context], Any], logged: tuple[tuple[str, str], ...]) -> Outcome:
    """Train with a TRL trainer that ``build`` makes from a :class:`Context`; ``logged``
    names the method's own log columns (column, trainer log key)."""
    from runners.data.chat import ensure_template, template_text

    s, t, name = st.s, st.s["train"], st.name
    method, fmt = t["method"], st.manifest["format"]
    tokenizer = modeling.resolve_tokenizer(st.data_dir, st.ref)
    if fmt != "text":
        ensure_template(tokenizer, template_text(st.manifest["dataset"], st.root))
    with quiet_hf():
        if method == "reward":
            model = modeling.build_reward_base(s["model"]["base"], st.ref, tokenizer, s["seed"])
        else:
            model = modeling.build_base(s["model"]["base"], st.ref, tokenizer, s["seed"],
                                        t.get("peft"))
        if t.get("peft") is not None:
            model = modeling.add_adapter(model, t["peft"])
    trainable, total = modeling.parameter_counts(model)
    rows = read_rows(st.data_dir / paths.SPLIT_FILES["train"])
    if not rows:
        raise RunnerError(f"{st.data_dir}: the training split is empty")
    st.say(f"train {name} ({method}): {len(rows)} rows, {trainable:,} of {total:,} parameters "
           f"trainable, base {st.ref.label}")
    log = Log(extra=tuple(c for c, _ in logged), keys=tuple(k for _, k in logged))
    with tempfile.TemporaryDirectory(prefix="repro-trl-") as scratch, quiet_hf():
        ctx = Context(t, fmt, rows, model, tokenizer, int(s["seed"]), st.root, scratch,
                      base=lambda: modeling.build_base(s["model"]["base"], st.ref, tokenizer,
                                                       s["seed"]),
                      base_location=st.ref.location,
                      teacher=_teacher_loader(st.root, s["model"].get("teacher")))
        try:
            trainer = build(ctx)
        except (ValueError, TypeError) as e:
            raise RunnerError(f"train ({method}): {_first_line(e)}") from None
        drop_printer(trainer)
        trainer.add_callback(log_callback(log, lambda step, m: st.run.log_metrics(m, step), st.say))
        trainer.train()
    model = trainer.model
    metrics = _metrics(log, trainer.state.global_step, len(rows), trainable, total)
    shown = "".join(
        f", {c} {metrics[f'first_{c}']:.4f} -> {metrics[f'last_{c}']:.4f}" for c in log.extra
    )
    return Outcome(
        metrics=metrics,
        files={
            paths.MODEL_DIR: lambda tmp: modeling.save(model, tokenizer, tmp, int(t["max_length"])),
            paths.TRAIN_LOG: log.csv(),
            paths.TRAIN_METRICS: dump_json(metrics),
        },
        logged={f"final.{k}": v for k, v in metrics.items()},
        extra={"trainer": type(trainer).__mro__[1].__name__},
        summary=(f"trained {name} ({method}): loss {metrics['first_loss']:.4f} -> "
                 f"{metrics['last_loss']:.4f}{shown} in {metrics['steps']} steps -> "
                 f"{paths.spec_dir(name)}"),
    )


def _teacher_loader(root: Path, teacher: dict[str, Any] | None):
    """A callable loading ``model.teacher``'s trained model, frozen; None without one."""
    if not teacher:
        return None
    rel = paths.model_dir(teacher["spec"])
    if not (root / rel / "config.json").is_file():
        raise RunnerError(f"model.teacher.spec: {rel} holds no full model (train spec "
                          f"{teacher['spec']!r} first)")

    def load():
        model = modeling.load_pretrained(str(root / rel))
        model.config._name_or_path = model.name_or_path = rel.as_posix()
        model.eval()
        for p in model.parameters():
            p.requires_grad_(False)
        return model

    return load


def _metrics(log: Log, steps: int, n_rows: int, trainable: int, total: int) -> dict[str, Any]:
    """First and last logged window of the loss and of each method-specific series."""
    out: dict[str, Any] = {
        "first_loss": round(log.first("loss"), 6),
        "last_loss": round(log.last("loss"), 6),
    }
    for column in log.extra:
        out[f"first_{column}"] = round(log.first(column), 6)
        out[f"last_{column}"] = round(log.last(column), 6)
    out.update(steps=steps, examples=n_rows, trainable_parameters=trainable, parameters=total)
    return out


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__
