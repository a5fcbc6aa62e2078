"""Stage ``train``: fine-tune or pretrain one spec's model on its prepared data set.

    python -m runners.train <spec-name>      # -> runs/<spec>/{model/, train_log.csv, ...}

Reads top to bottom: resolve the spec, seed, build the tokenizer and base model (plus
a LoRA adapter when the spec asks for one), run the loop, write the outputs atomically,
write the lineage record, close the MLflow run.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from repro import paths
from repro.schema import TRL_METHODS
from runners import cli, modeling, stage
from runners.data.examples import load_examples
from runners.errors import RunnerError
from runners.fileio import atomic_dir, write_json_atomic, write_text_atomic
from runners.params import resolve_spec
from runners.prepare import read_manifest

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
    st = stage.start(spec, s, name, root, STAGE, manifest)
    ref, run = st.ref, st.run

    try:
        from runners.loop import fit
        from runners.seeding import determinism, seed_everything

        generator = seed_everything(s["seed"], full=determinism(s))
        tokenizer = modeling.resolve_tokenizer(data_dir, ref)
        model = modeling.build_base(s["model"]["base"], ref, tokenizer, s["seed"])
        if t.get("peft") is not None:
            model = modeling.add_lora(model, t["peft"])
        trainable, total = modeling.parameter_counts(model)
        loaded = load_examples(data_dir, "train", int(t["max_length"]), bool(t.get("packing")))
        examples = loaded.examples
        if not examples:
            raise RunnerError(f"{data_dir}: no usable training examples")
        if loaded.truncated or loaded.dropped:
            print(
                f"train {name}: {loaded.truncated} of {loaded.source_examples} examples "
                f"truncated to max_length {t['max_length']}, {loaded.dropped} dropped "
                "(no labelled token left)",
                flush=True,
            )
        print(
            f"train {name}: {len(examples)} examples, {trainable:,} of {total:,} parameters "
            f"trainable, base {ref.label}",
            flush=True,
        )
        result = fit(
            model,
            examples,
            t,
            generator,
            tokenizer.pad_token_id,
            on_log=lambda step, loss, lr: run.log_metrics({"loss": loss, "lr": lr}, step),
            say=lambda line: print(line, flush=True),
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

        with atomic_dir(out_dir / paths.MODEL_DIR) as tmp:
            modeling.save(model, tokenizer, tmp, int(t["max_length"]))
        log_csv = "step,loss,lr\n" + "".join(
            f"{s_},{loss:.6f},{lr:.6g}\n" for s_, loss, lr in result.log
        )
        write_text_atomic(out_dir / paths.TRAIN_LOG, log_csv)
        write_json_atomic(out_dir / paths.TRAIN_METRICS, metrics)
        records = stage.finish_records(st, STAGE, spec, s, name, root, manifest, command)
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


def main(argv: list[str] | None = None) -> int:
    return cli.spec_stage_main("train", "Train one spec listed in params.yaml.", train, argv)


if __name__ == "__main__":
    sys.exit(main())
