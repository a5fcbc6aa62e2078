"""Training methods run through TRL's trainers: ``trl-sft``, ``dpo``, ``reward``, ``grpo``.

``runners.train`` hands a spec whose ``train.method`` is one of these to ``train_trl``,
which reads like the plain loop's stage: resolve, seed, build the tokenizer (with a chat
template) and the base model (plus LoRA), let the method's module build its TRL trainer,
train, then write the same outputs (model, train_log.csv, train_metrics.json, lineage)
atomically and close the MLflow run. One module per method builds the trainer from the
rows of the training split (TRL tokenizes them itself).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from repro.contract import paths
from repro.contract.fsio import atomic_dir, write_json_atomic, write_text_atomic
from runners import harness
from runners.data.batching import read_rows
from runners.errors import RunnerError
from runners.methods.common import (
    Log,
    drop_printer,
    log_callback,
    quiet_hf,
    trainer_args,
    with_repro_optimizer,
)
from runners.models import modeling


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


def train_trl(
    spec: dict[str, Any], s: dict[str, Any], name: str, root: Path, *, command: str | None
) -> dict:
    """Train spec ``name`` with its TRL method (``s``: the spec with defaults filled in)."""
    from repro.contract.records import read_manifest
    from runners.methods import dpo, grpo, reward, sft_trl  # static: the compiler's code deps

    t = s["train"]
    method = t["method"]
    module = {"trl-sft": sft_trl, "dpo": dpo, "reward": reward, "grpo": grpo}[method]
    data_dir = root / paths.data_dir(s["data"])
    manifest = read_manifest(data_dir)
    fmt = manifest["format"]
    out_dir = root / paths.spec_dir(name)
    st = harness.start(spec, s, name, root, "train", manifest)
    run = st.run

    def say(line: str) -> None:
        print(line, flush=True)

    try:
        from runners.data.chat import ensure_template
        from runners.training.seeding import determinism, seed_everything
        from runners.training.seeding import threads as seeding_threads

        seed_everything(s["seed"], full=determinism(s), threads=seeding_threads(s))
        tokenizer = modeling.resolve_tokenizer(data_dir, st.ref)
        if fmt != "text":
            ensure_template(tokenizer, manifest["dataset"].get("chat_template"))
        with quiet_hf():
            if method == "reward":
                model = modeling.build_reward_base(s["model"]["base"], st.ref, tokenizer, s["seed"])
            else:
                model = modeling.build_base(s["model"]["base"], st.ref, tokenizer, s["seed"],
                                            t.get("peft"))
            if t.get("peft") is not None:
                model = modeling.add_adapter(model, t["peft"])
        trainable, total = modeling.parameter_counts(model)
        rows = read_rows(data_dir / paths.SPLIT_FILES["train"])
        if not rows:
            raise RunnerError(f"{data_dir}: the training split is empty")
        say(f"train {name} ({method}): {len(rows)} rows, {trainable:,} of {total:,} parameters "
            f"trainable, base {st.ref.label}")
        log = Log(extra=tuple(c for c, _ in module.LOGGED), keys=tuple(k for _, k in module.LOGGED))
        with tempfile.TemporaryDirectory(prefix="repro-trl-") as scratch, quiet_hf():
            ctx = Context(t, fmt, rows, model, tokenizer, int(s["seed"]), root, scratch,
                          base=lambda: modeling.build_base(s["model"]["base"], st.ref, tokenizer,
                                                           s["seed"]),
                          base_location=st.ref.location)
            try:
                trainer = module.build(ctx)
            except (ValueError, TypeError) as e:
                raise RunnerError(f"train ({method}): {_first_line(e)}") from None
            drop_printer(trainer)
            trainer.add_callback(log_callback(log, lambda step, m: run.log_metrics(m, step), say))
            trainer.train()
        model = trainer.model
        metrics = _metrics(log, trainer.state.global_step, len(rows), trainable, total)

        with atomic_dir(out_dir / paths.MODEL_DIR) as tmp:
            modeling.save(model, tokenizer, tmp, int(t["max_length"]))
        write_text_atomic(out_dir / paths.TRAIN_LOG, log.csv())
        write_json_atomic(out_dir / paths.TRAIN_METRICS, metrics)
        records = harness.finish_records(
            st, "train", spec, s, name, root, manifest, command,
            extra={"trainer": type(trainer).__mro__[1].__name__},
        )
    except BaseException:
        run.finish(failed=True)
        raise
    run.log_metrics({f"final.{k}": v for k, v in metrics.items()})
    run.finish([out_dir / paths.TRAIN_METRICS, out_dir / paths.TRAIN_LOG, *records])
    shown = "".join(
        f", {c} {metrics[f'first_{c}']:.4f} -> {metrics[f'last_{c}']:.4f}" for c in log.extra
    )
    print(f"trained {name} ({method}): loss {metrics['first_loss']:.4f} -> "
          f"{metrics['last_loss']:.4f}{shown} in {metrics['steps']} steps -> "
          f"{paths.spec_dir(name)}")
    return metrics


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
