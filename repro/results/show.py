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


# ----------------------------------------------------------------------------- the table


METRIC_ORDER = ("perplexity", "exact_match", "preference_accuracy")
LABELS = {"preference_accuracy": "pref_acc"}
NOT_HEADLINE = {"n_examples"}


def headline(metrics: dict[str, Any] | None) -> dict[str, float]:
    """The scalar numbers of a metrics file (its base model's scores aside)."""
    return {k: v for k, v in (metrics or {}).items()
            if isinstance(v, (int, float)) and not isinstance(v, bool) and k not in NOT_HEADLINE}


def gates_summary(gates: dict[str, Any] | None) -> dict[str, Any] | None:
    """``runs/<spec>/gates.json`` in brief: passed, counts and the failed gates' messages."""
    if not gates or not isinstance(gates.get("gates"), list):
        return None
    items = [g for g in gates["gates"] if isinstance(g, dict)]
    failed = [g for g in items if not g.get("passed")]
    return {"passed": bool(gates.get("passed", not failed)), "total": len(items),
            "failed": [str(g.get("message") or g.get("metric") or "?") for g in failed],
            "gates": items}


def gates_cell(summary: dict[str, Any] | None) -> str:
    if summary is None:
        return "-"
    n, bad = summary["total"], len(summary["failed"])
    return f"pass {n}/{n}" if summary["passed"] else f"FAIL {bad}/{n}"


def short_reason(spec: str, reason: str) -> str:
    """``train-x: param specs.x.train.optimizer.lr 0.003 -> 0.006`` -> ``train.optimizer.lr
    0.003 -> 0.006``: what a person reads in a table cell."""
    stage, _, why = reason.partition(": ")
    why = why or stage
    why = why.replace(f"param specs.{spec}.", "").replace("param datasets.", "data ")
    return why if stage.endswith(f"-{spec}") else f"{stage}: {why}"


def status_cell(row: dict[str, Any]) -> str:
    state, why = row["status"], row.get("why") or []
    if not why:
        return state
    more = f" (+{len(why) - 1})" if len(why) > 1 else ""
    return f"{state}: {short_reason(row['spec'], why[0])}{more}"


def _study(root: Path, name: str) -> dict[str, Any] | None:
    return read_json(root / paths.spec_dir(name) / "study.json")


def trial_rows(spec_row: dict[str, Any], study: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per trial of ``runs/<spec>/study.json``."""
    objectives = [o for o in study.get("objectives") or [] if isinstance(o, dict)]
    best = study.get("best_trial")
    out = []
    for t in study.get("trials") or []:
        if not isinstance(t, dict):
            continue
        values = t.get("values") or []
        metrics = {str(o.get("metric")): v for o, v in zip(objectives, values, strict=False)
                   if isinstance(v, (int, float))}
        number = t.get("number")
        out.append({
            "spec": f"{spec_row['spec']}#{number}", "parent": spec_row["spec"], "trial": number,
            "file": spec_row["file"], "method": spec_row["method"], "base": spec_row["base"],
            "status": str(t.get("state", "?")).lower() + (" (best)" if number == best else ""),
            "why": [], "metrics": None, "scores": metrics, "base_metrics": {}, "gates": None,
            "params": t.get("params") or {}, "seed": t.get("seed"),
            "duration_s": t.get("duration_s"),
        })
    return out


def experiment_rows(root: Path, entries: list[Entry], selected: list[Entry],
                    trials: bool = True) -> list[dict[str, Any]]:
    """``repro show``: a row per selected spec (then its sweep trials), with its state."""
    from repro.errors import ReproError
    from repro.pipeline.graph import build_graph
    from repro.results.staleness import spec_status, stage_statuses

    try:
        graph = build_graph(root, [e for e in entries if e.ok])
        statuses = stage_statuses(root, graph)
    except ReproError:
        graph, statuses = None, {}
    rows: list[dict[str, Any]] = []
    for e in selected:
        r = spec_result(root, e)
        stages: dict[str, Any] = {}
        if e.errors:
            status, why = "invalid", [err.format() for err in e.errors][:3]
        elif graph is not None and e.name in graph.specs:
            st = spec_status(graph, statuses, e.name)
            status, why = st.state, st.reasons
            stages = {s.name: statuses[s.name].as_dict() for s in graph.stages
                      if s.name in graph.upstream(e.name)}
        else:
            status, why = "?", ["a spec it depends on is invalid"]
        d = root / paths.spec_dir(e.name)
        base = (r["metrics"] or {}).get("base")
        row = {
            "spec": e.name, "parent": None, "trial": None, "file": e.file,
            "description": e.spec.description if e.spec else None,
            "method": r["method"], "base": r["base"], "status": status, "why": why,
            "metrics": r["metrics"], "train": r["train"],
            "scores": headline(r["metrics"]),
            "base_metrics": headline(base) if isinstance(base, dict) else {},
            "train_loss": (r["train"] or {}).get("last_loss"),
            "wanted": list(e.spec.evaluate.metrics) if e.spec else [],
            "stages": stages,
            "gates": gates_summary(read_json(d / "gates.json")),
        }
        rows.append(row)
        study = _study(root, e.name) if trials else None
        if study:
            row["study"] = {k: study.get(k) for k in ("study", "objectives", "best_trial")}
            rows += trial_rows(row, study)
    return rows
