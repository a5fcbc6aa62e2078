"""Stage ``evaluate``: score one trained spec (and, optionally, its base) on a data split.

    python -m runners.evaluate <spec-name>    # -> runs/<spec>/{metrics.json, evaluate.lineage.json}

metrics.json holds ``perplexity``, ``exact_match`` (instruction data), ``n_examples``
and, with ``compare_base``, the same for the base model under ``base`` (the untrained
initialisation for a config base). No timings: two clean runs give identical bytes.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from repro.contract import paths
from repro.contract.fsio import dump_json
from repro.contract.records import read_manifest
from repro.spec.sections.determinism import Determinism
from repro.spec.sections.evaluate import Evaluate
from repro.spec.sections.model import Model
from repro.spec.sections.tracking import Tracking
from runners import entry, harness
from runners.data.batching import read_rows
from runners.data.examples import load_examples
from runners.errors import RunnerError
from runners.models import modeling
from runners.params import resolve_spec
from runners.records.tracking import flatten
from runners.scoring.metrics import score

STAGE = "evaluate"
UNTOKENIZED = ("preference", "feedback")  # formats prepare leaves to the chat template
SECTIONS = {  # the spec sections this stage reads
    "model": Model,
    "evaluate": Evaluate,
    "tracking": Tracking,
    "determinism": Determinism,
}


def evaluate(
    spec: dict[str, Any], name: str, root: str | Path = ".", *, command: str | None = None
) -> dict:
    """Evaluate spec ``name`` (``spec`` = its params.yaml entry) in workspace ``root``.

    Returns the metrics (also written to runs/<name>/metrics.json).
    """
    root = Path(root)
    s = resolve_spec(spec, name, SECTIONS)
    ev = s["evaluate"]
    data_dir = root / paths.data_dir(s["data"])
    manifest = read_manifest(data_dir)
    fmt = manifest["format"]
    rows = read_rows(data_dir / paths.SPLIT_FILES[ev["split"]])
    limit = None if ev["max_examples"] is None else int(ev["max_examples"])
    rows = rows[:limit]
    if not rows:
        raise RunnerError(f"{data_dir}: split {ev['split']!r} is empty")
    model_dir = root / paths.model_dir(name)

    def body(st: harness.Stage) -> harness.Outcome:
        if modeling.is_reward_model(model_dir):
            metrics, samples = _score_reward_model(s, model_dir, rows, ev, st.ref), []
        else:
            model, tokenizer = modeling.load_trained(s, name, root)
            if fmt in UNTOKENIZED:  # scored through the chat template, never tokenized ahead
                from runners.data.chat import ensure_template, template_text

                ensure_template(tokenizer, template_text(manifest["dataset"], root))
            max_length = min(tokenizer.model_max_length, model.config.max_position_embeddings)
            examples = ([] if fmt in UNTOKENIZED else
                        load_examples(data_dir, ev["split"], max_length, limit=limit).examples)
            metrics = score(model, tokenizer, rows, examples, fmt, ev)
            samples = metrics.pop("_samples", [])
        if ev["compare_base"] and "base" not in metrics:
            base = s["model"]["base"]
            if modeling.is_adapter(model_dir):
                with model.disable_adapter():  # the base is already loaded, under the adapter
                    base_metrics = score(model, tokenizer, rows, examples, fmt, ev)
            else:
                del model
                base_model = modeling.build_base(base, st.ref, tokenizer, s["seed"])
                base_metrics = score(base_model, tokenizer, rows, examples, fmt, ev)
            base_metrics.pop("_samples", None)
            metrics["base"] = base_metrics
        shown = "".join(f"  {question}  (model: {answer!r})\n" for question, answer in samples)
        return harness.Outcome(
            metrics=metrics,
            files={paths.METRICS: dump_json(metrics)},
            logged={k: v for k, v in flatten(metrics).items() if isinstance(v, int | float)},
            summary=f"{shown}evaluated {name}: {_summary(metrics)} -> "
                    f"{paths.spec_dir(name) / paths.METRICS}",
        )

    return harness.run(STAGE, spec, s, name, root, manifest, command, body)


def _score_reward_model(s: dict, model_dir: Path, rows: list, ev: dict, ref) -> dict:
    """A reward model (``train.method: reward``) ranks preference pairs; with
    ``compare_base``, so does the base model under a fresh, seeded score head."""
    from runners.scoring.preference import preference_scores

    bs = int(ev["batch_size"])
    model, tokenizer = modeling.load_reward_model(model_dir)
    metrics: dict[str, Any] = {"n_examples": len(rows),
                               **preference_scores(model, tokenizer, rows, bs, True)}
    if ev["compare_base"]:
        base = modeling.build_reward_base(s["model"]["base"], ref, tokenizer, s["seed"])
        metrics["base"] = {"n_examples": len(rows),
                           **preference_scores(base, tokenizer, rows, bs, True)}
    return metrics


def _summary(metrics: dict) -> str:
    parts = [f"{k} {v}" for k, v in metrics.items() if k != "base"]
    if "base" in metrics:
        parts.append("base: " + ", ".join(f"{k} {v}" for k, v in metrics["base"].items()))
    return "; ".join(parts)


def main(argv: list[str] | None = None) -> int:
    return entry.spec_stage_main("evaluate", "Evaluate one trained spec listed in params.yaml.", evaluate, argv)


if __name__ == "__main__":
    sys.exit(main())
