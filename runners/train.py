"""Stage ``train``: fine-tune or pretrain one spec's model on its prepared data set.

    python -m runners.train <spec-name>      # -> runs/<spec>/{model/, train_log.csv, ...}

Reads top to bottom: resolve the spec, seed, build the tokenizer and base model (plus
a LoRA, DoRA or QLoRA adapter when the spec asks for one), run the loop (resuming from
the last checkpoint when there is one), write the outputs atomically, write the lineage
record, close the MLflow run. Under ``accelerate launch`` every process trains and only
rank 0 writes, logs and prints.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from repro.contract import paths
from repro.contract.fsio import atomic_dir, canonical_json, write_json_atomic, write_text_atomic
from repro.contract.hashing import sha256_file, sha256_text
from repro.contract.records import read_manifest
from repro.spec.schema import TRL_METHODS
from runners import entry, harness
from runners.data.examples import load_examples
from runners.errors import RunnerError
from runners.models import modeling
from runners.params import resolve_spec
from runners.records import lineage
from runners.training import distributed

STAGE = "train"


def train(
    spec: dict[str, Any], name: str, root: str | Path = ".", *, command: str | None = None
) -> dict:
    """Train spec ``name`` (``spec`` = its params.yaml entry) in workspace ``root``.

    Returns the train metrics (also written to runs/<name>/train_metrics.json).
    """
    root = Path(root)
    s = resolve_spec(spec, name)
    t = s["train"]
    if t["method"] in TRL_METHODS:  # TRL's trainers: runners/methods/
        from runners.methods import train_trl

        return train_trl(spec, s, name, root, command=command)
    data_dir = root / paths.data_dir(s["data"])
    manifest = read_manifest(data_dir)
    out_dir = root / paths.spec_dir(name)
    dist = distributed.setup(bool((t.get("distributed") or {}).get("cpu")))
    # only rank 0 tracks: the other processes open no MLflow run
    tracked = s if dist.main else {**s, "tracking": {**s["tracking"], "mlflow": False}}
    st = harness.start(spec, tracked, name, root, STAGE, manifest)
    ref, run = st.ref, st.run
    say = (lambda line: print(line, flush=True)) if dist.main else (lambda line: None)

    try:
        from runners.training.loop import fit
        from runners.training.seeding import determinism, seed_everything
        from runners.training.seeding import threads as seeding_threads

        generator = seed_everything(s["seed"], full=determinism(s), threads=seeding_threads(s))
        tokenizer = modeling.resolve_tokenizer(data_dir, ref)
        peft = t.get("peft")
        checkpointing = bool(t.get("gradient_checkpointing"))
        model = modeling.build_base(s["model"]["base"], ref, tokenizer, s["seed"], peft)
        if peft is not None:
            model = modeling.add_adapter(model, peft, checkpointing)
        elif checkpointing:
            modeling.enable_gradient_checkpointing(model)
        trainable, total = modeling.parameter_counts(model)
        loaded = load_examples(data_dir, "train", int(t["max_length"]), bool(t.get("packing")))
        examples = loaded.examples
        if not examples:
            raise RunnerError(f"{data_dir}: no usable training examples")
        if loaded.truncated or loaded.dropped:
            say(
                f"train {name}: {loaded.truncated} of {loaded.source_examples} examples "
                f"truncated to max_length {t['max_length']}, {loaded.dropped} dropped "
                "(no labelled token left)"
            )
        say(
            f"train {name}: {len(examples)} examples, {trainable:,} of {total:,} parameters "
            f"trainable, base {ref.label}"
            + (f", {dist.world} processes" if dist.world > 1 else "")
        )
        checkpoints = _checkpoints(t, root, out_dir, spec, manifest, ref, say)
        result = fit(
            model,
            examples,
            t,
            generator,
            tokenizer.pad_token_id,
            on_log=lambda step, loss, lr: run.log_metrics({"loss": loss, "lr": lr}, step),
            say=say,
            checkpoints=checkpoints,
            dist=dist,
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
        if not dist.main:
            dist.barrier()  # rank 0 writes the outputs
            dist.end()
            return metrics

        with atomic_dir(out_dir / paths.MODEL_DIR) as tmp:
            modeling.save(model, tokenizer, tmp, int(t["max_length"]))
        log_csv = "step,loss,lr\n" + "".join(
            f"{s_},{loss:.6f},{lr:.6g}\n" for s_, loss, lr in result.log
        )
        write_text_atomic(out_dir / paths.TRAIN_LOG, log_csv)
        write_json_atomic(out_dir / paths.TRAIN_METRICS, metrics)
        records = harness.finish_records(st, STAGE, spec, s, name, root, manifest, command,
                                       extra={"training": {"processes": dist.world}})
        if checkpoints is not None and not t["checkpoint"].get("keep_after_success"):
            checkpoints.clear()
        dist.barrier()
        dist.end()
    except BaseException:
        run.finish(failed=True)
        raise
    run.log_metrics({f"final.{k}": v for k, v in metrics.items()})
    run.finish([out_dir / paths.TRAIN_METRICS, out_dir / paths.TRAIN_LOG, *records])
    print(
        f"trained {name}: loss {metrics['first_loss']:.4f} -> {metrics['last_loss']:.4f} "
        f"in {metrics['steps']} steps -> {paths.spec_dir(name)}"
    )
    return metrics


def _checkpoints(t, root: Path, out_dir: Path, spec, manifest, ref: modeling.BaseRef, say):
    """A Checkpoints for ``runs/<spec>/checkpoints`` when the spec asks for them."""
    section = t.get("checkpoint")
    if not section:
        return None
    from runners.training.checkpoint import Checkpoints

    base_files: dict[str, Any] = {}
    if ref.location and Path(ref.location).is_dir():
        for f in sorted(Path(ref.location).iterdir()):
            if f.is_file():  # size for weights, content for the small files
                small = f.stat().st_size < (1 << 24)
                base_files[f.name] = sha256_file(f) if small else f.stat().st_size
    fingerprint = sha256_text(canonical_json({
        "spec": lineage.spec_hash(spec, manifest["dataset"]),
        "data": manifest["data_hash"],
        "base": base_files,
        "code": lineage.code(STAGE)["sha256"],
        # the key packages' versions, not the hash of every distribution on sys.path,
        # which changes with the working directory a process starts in
        "packages": lineage.environment(root)["versions"],
    }))
    return Checkpoints(
        out_dir / paths.CHECKPOINTS_DIR, section["every"], section["keep"], fingerprint, say
    )


def main(argv: list[str] | None = None) -> int:
    return entry.spec_stage_main("train", "Train one spec listed in params.yaml.", train, argv)


if __name__ == "__main__":
    sys.exit(main())
