"""Read results back: metrics per spec, for the summary table, ``repro show`` and ``--json``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from repro.contract import paths
from repro.spec.schema import ConfigBase, HubBase, PathBase, SpecBase
from repro.spec.workspace import Entry


def read_json(path: Path) -> dict[str, Any] | None:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def describe_base(entry: Entry) -> str:
    base = entry.spec.model.base if entry.spec else None
    if isinstance(base, ConfigBase):
        c = base.config
        return f"new {c.arch} {c.num_hidden_layers}x{c.hidden_size}"
    if isinstance(base, SpecBase):
        return f"spec {base.spec}"
    if isinstance(base, PathBase):
        return f"path {base.path}"
    if isinstance(base, HubBase):
        return f"hub {base.hub}@{base.revision or 'latest'}"
    return "?"


def describe_method(entry: Entry) -> str:
    if entry.spec is None:
        return "?"
    train = entry.spec.train
    peft = getattr(train, "peft", None)
    return f"{train.method}+{peft.kind}" if peft else (
        train.method if train.method == "pretrain" else f"{train.method} (full)"
    )


def spec_result(root: Path, entry: Entry) -> dict[str, Any]:
    d = root / paths.spec_dir(entry.name)
    metrics = read_json(d / paths.METRICS)
    train = read_json(d / paths.TRAIN_METRICS)
    return {
        "spec": entry.name,
        "file": entry.file,
        "method": describe_method(entry),
        "base": describe_base(entry),
        "metrics": metrics,
        "train": train,
    }


METRIC_COLUMNS = ("perplexity", "exact_match", "preference_accuracy")
HEADERS = ["perplexity", "exact_match", "pref_acc", "base score"]
BASE_LABELS = (("exact_match", "em"), ("preference_accuracy", "pref"))


def metric_cells(metrics: dict[str, Any] | None) -> list[Any]:
    """perplexity, exact match, preference accuracy, and the base model's scores
    (before -> after): its exact match and preference accuracy, else its perplexity."""
    from repro.ui import fmt_num

    if not metrics:
        return ["-"] * len(HEADERS)
    base = metrics.get("base") or {}
    out = []
    for key in METRIC_COLUMNS:
        v = metrics.get(key)
        out.append(fmt_num(v) if v is not None else "-")
    if not isinstance(base, dict):
        base = {}
    scores = [f"{label} {fmt_num(base[key])}" for key, label in BASE_LABELS
              if base.get(key) is not None]
    if not scores and base.get("perplexity") is not None:
        scores = [f"ppl {fmt_num(base['perplexity'])}"]
    out.append(", ".join(scores) or "-")
    return out
