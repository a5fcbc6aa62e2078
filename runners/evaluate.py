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
from runners.records import lineage
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
        def scored(model, tokenizer) -> dict:
            out = score(model, tokenizer, rows, examples, fmt, ev, seed=s["seed"], root=str(root))
            if ev.get("tasks"):
                out["tasks"] = run_benchmarks(model, tokenizer, model_dir, s, root)
            return out

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
            metrics = scored(model, tokenizer)
            samples = metrics.pop("_samples", [])
        if ev["compare_base"] and "base" not in metrics:
            base = s["model"]["base"]
            if modeling.is_adapter(model_dir):
                with model.disable_adapter():  # the base is already loaded, under the adapter
                    base_metrics = scored(model, tokenizer)
            else:
                del model
                base_model = modeling.build_base(base, st.ref, tokenizer, s["seed"])
                base_metrics = scored(base_model, tokenizer)
            base_metrics.pop("_samples", None)
            metrics["base"] = base_metrics
        files = {paths.METRICS: dump_json(metrics)}
        if ev.get("gates"):
            from runners.scoring.gates import check

            gate_result.update(check(metrics, ev["gates"], root))
            files[paths.GATES] = dump_json(gate_result)
        shown = "".join(f"  {question}  (model: {answer!r})\n" for question, answer in samples)
        return harness.Outcome(
            metrics=metrics,
            files=files,
            logged={k: v for k, v in flatten(metrics).items()
                    if isinstance(v, int | float) and not k.startswith("settings.")
                    and ".settings." not in k},
            extra=_lineage_extra(ev, s, root, gate_result),
            summary=f"{shown}evaluated {name}: {_summary(metrics)} -> "
                    f"{paths.spec_dir(name) / paths.METRICS}",
        )

    gate_result: dict[str, Any] = {}
    metrics = harness.run(STAGE, spec, s, name, root, manifest, command, body)
    if gate_result and not gate_result["passed"]:
        from runners.scoring.gates import failures

        raise RunnerError(f"evaluate {name}: " + "; ".join(failures(gate_result))
                          + f" (results in {paths.spec_dir(name) / paths.GATES})")
    return metrics


def run_benchmarks(model, tokenizer, model_dir: Path, s: dict, root: Path) -> dict:
    """The spec's task files, run by repro's task runner or by lm-eval."""
    ev = s["evaluate"]
    boot = {"iters": int(ev["bootstrap"]["iters"]),
            "seed": int(s["seed"] if ev["bootstrap"]["seed"] is None else ev["bootstrap"]["seed"])}
    if ev["harness"] == "lm-eval":
        from runners.scoring.lmeval import run_lm_eval

        return run_lm_eval(model, tokenizer, root, ev["tasks"], seed=int(s["seed"]),
                           boot=boot, batch_size=int(ev["batch_size"]))
    from runners.scoring.tasks import run_tasks

    return run_tasks(model, tokenizer, root, ev["tasks"], int(s["seed"]), boot,
                     int(ev["batch_size"]))


def _lineage_extra(ev: dict, s: dict, root: Path, gates: dict) -> dict | None:
    """Task files (with their data files' hashes), seeds and n-shot; gate results."""
    if not ev.get("tasks") and not gates and not ev.get("custom"):
        return None
    from repro.spec.tasks import load_task
    from runners.scoring.tasks import task_hashes

    extra: dict[str, Any] = {"evaluation": {
        "harness": ev["harness"], "seed": s["seed"], "bootstrap": ev["bootstrap"],
        "tasks": [{**task_hashes(root, t["path"], load_task(root, t["path"])),
                   "num_fewshot": t["num_fewshot"], "limit": t["limit"]} for t in ev["tasks"]],
        "custom_metrics": [{"path": c["path"], "sha256": lineage.content_hash(root / c["path"])}
                           for c in ev.get("custom") or []],
    }}
    if gates:
        extra["evaluation"]["gates_passed"] = gates["passed"]
    return extra


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
    def show(m: dict) -> list[str]:
        return [f"{k} {v}" for k, v in m.items() if isinstance(v, int | float)
                and not k.endswith("_stderr")] + [
            f"{t}: " + ", ".join(f"{k} {v}" for k, v in r.items() if k in ("acc", "acc_norm",
                                                                           "exact_match", "bleu"))
            for t, r in (m.get("tasks") or {}).items()]

    parts = show(metrics)
    if "base" in metrics:
        parts.append("base: " + ", ".join(show(metrics["base"])))
    return "; ".join(parts)


def main(argv: list[str] | None = None) -> int:
    return entry.spec_stage_main("evaluate", "Evaluate one trained spec listed in params.yaml.", evaluate, argv)


if __name__ == "__main__":
    sys.exit(main())
