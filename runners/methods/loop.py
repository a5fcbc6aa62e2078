"""``method: pretrain`` and ``method: sft``: repro's own training loop (full, LoRA, DoRA, QLoRA).

Reads top to bottom: build the tokenizer and the base model (plus an adapter when the spec
asks for one), load the tokenized examples, run the loop (resuming from the last checkpoint
when there is one), and hand the model, the log and the metrics to the harness.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from repro.contract import paths
from repro.contract.fsio import canonical_json, dump_json
from repro.contract.hashing import sha256_file, sha256_text
from runners.data.examples import load_examples
from runners.errors import RunnerError
from runners.harness import Outcome, Stage
from runners.models import modeling
from runners.records import lineage


def fit(st: Stage) -> Outcome:
    from runners.training.loop import fit as run_loop

    s, t, name = st.s, st.s["train"], st.name
    tokenizer = modeling.resolve_tokenizer(st.data_dir, st.ref)
    peft = t.get("peft")
    checkpointing = bool(t.get("gradient_checkpointing"))
    model = modeling.build_base(s["model"]["base"], st.ref, tokenizer, s["seed"], peft)
    if peft is not None:
        model = modeling.add_adapter(model, peft, checkpointing)
    elif checkpointing:
        modeling.enable_gradient_checkpointing(model)
    trainable, total = modeling.parameter_counts(model)
    loaded = load_examples(st.data_dir, "train", int(t["max_length"]), bool(t.get("packing")))
    examples = loaded.examples
    if not examples:
        raise RunnerError(f"{st.data_dir}: no usable training examples")
    if loaded.truncated or loaded.dropped:
        st.say(
            f"train {name}: {loaded.truncated} of {loaded.source_examples} examples "
            f"truncated to max_length {t['max_length']}, {loaded.dropped} dropped "
            "(no labelled token left)"
        )
    dist = st.dist
    st.say(
        f"train {name}: {len(examples)} examples, {trainable:,} of {total:,} parameters "
        f"trainable, base {st.ref.label}"
        + (f", {dist.world} processes" if dist.world > 1 else "")
    )
    checkpoints = _checkpoints(st)
    watch = _intermediate(st, tokenizer.pad_token_id)
    result = run_loop(
        model,
        examples,
        t,
        st.generator,
        tokenizer.pad_token_id,
        on_log=lambda step, loss, lr: st.run.log_metrics({"loss": loss, "lr": lr}, step),
        say=st.say,
        checkpoints=checkpoints,
        dist=dist,
        intermediate=watch,
    )
    metrics = {
        "first_loss": round(result.first_loss, 6),
        "last_loss": round(result.last_loss, 6),
        "steps": result.steps,
        "epochs": round(result.micro_batches * int(t["batch_size"]) / len(examples), 6),
        "examples": len(examples),
        "tokens": result.tokens,
        **loaded.stats(),
        "trainable_parameters": trainable,
        "parameters": total,
    }
    if watch is None:
        log_csv = "step,loss,lr\n" + "".join(
            f"{step},{loss:.6f},{lr:.6g}\n" for step, loss, lr in result.log
        )
    else:  # the validation loss where it was measured, empty elsewhere
        val = dict(watch.values)
        steps = sorted({step for step, _, _ in result.log} | set(val))
        rows = {step: (loss, lr) for step, loss, lr in result.log}
        log_csv = "step,loss,lr,val_loss\n" + "".join(
            (f"{step},{rows[step][0]:.6f},{rows[step][1]:.6g}," if step in rows else f"{step},,,")
            + (f"{val[step]:.6f}" if step in val else "") + "\n" for step in steps
        )
        metrics["last_val_loss"] = watch.values[-1][1] if watch.values else None
    keep = checkpoints is None or t["checkpoint"].get("keep_after_success")
    return Outcome(
        metrics=metrics,
        files={
            paths.MODEL_DIR: lambda tmp: modeling.save(model, tokenizer, tmp, int(t["max_length"])),
            paths.TRAIN_LOG: log_csv,
            paths.TRAIN_METRICS: dump_json(metrics),
        },
        logged={f"final.{k}": v for k, v in metrics.items()},
        extra={"training": {"processes": dist.world}},
        summary=(f"trained {name}: loss {metrics['first_loss']:.4f} -> "
                 f"{metrics['last_loss']:.4f} in {metrics['steps']} steps -> "
                 f"{paths.spec_dir(name)}"),
        after_success=None if keep else checkpoints.clear,
    )


def _intermediate(st: Stage, pad_id: int):
    """Validation loss every N steps when the caller (a sweep trial) asks for it."""
    settings = st.intermediate
    if not settings:
        return None
    from runners.training.intermediate import Intermediate

    limit = int(settings.get("max_examples", 64))
    loaded = load_examples(st.data_dir, "validation", int(st.s["train"]["max_length"]),
                           limit=limit)
    return Intermediate(every=int(settings["every"]), max_examples=limit,
                        report=settings.get("report"), examples=loaded.examples, pad_id=pad_id)


def _checkpoints(st: Stage):
    """A Checkpoints for ``runs/<spec>/checkpoints`` when the spec asks for them."""
    t = st.s["train"]
    section = t.get("checkpoint")
    if not section:
        return None
    from runners.training.checkpoint import Checkpoints

    base_files: dict[str, Any] = {}
    if st.ref.location and Path(st.ref.location).is_dir():
        for f in sorted(Path(st.ref.location).iterdir()):
            if f.is_file():  # size for weights, content for the small files
                small = f.stat().st_size < (1 << 24)
                base_files[f.name] = sha256_file(f) if small else f.stat().st_size
    fingerprint = sha256_text(canonical_json({
        "spec": lineage.spec_hash(st.spec, st.manifest["dataset"]),
        "data": st.manifest["data_hash"],
        "base": base_files,
        "code": lineage.code("train", t["method"])["sha256"],
        # the key packages' versions, not the hash of every distribution on sys.path,
        # which changes with the working directory a process starts in
        "packages": lineage.environment(st.root)["versions"],
    }))
    return Checkpoints(
        st.out_dir / paths.CHECKPOINTS_DIR, section["every"], section["keep"], fingerprint, st.say
    )
