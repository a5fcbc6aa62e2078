"""Checking a spec's ``search`` section against the schema before any compute is spent.

Every dimension of the space must name a scalar field of the spec, and every value it can
sample (both bounds of a range, each choice) must give a valid spec: we set the value in
a copy of the document and run the same validation and cross-field checks as for any
spec, reporting a failure at the space entry's own line. Objectives must be metrics the
spec's evaluation writes.
"""

from __future__ import annotations

import copy
import math
import typing
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ValidationError

from repro.errors import SpecError
from repro.spec.schemapath import model_at, unwrap

# fields a sweep may not set: identity, and sections it does not own
FORBIDDEN = ("spec_version", "name", "description", "search", "extends", "tracking")
# metrics.json keys each evaluate metric brings
PRODUCES = {"perplexity": ("perplexity",), "exact_match": ("exact_match",),
            "preference_accuracy": ("preference_accuracy", "reward_margin")}


def set_path(data: dict[str, Any], path: str, value: Any) -> None:
    """Set dotted ``path`` in a nested mapping, making missing mappings on the way."""
    parts = path.split(".")
    cur = data
    for part in parts[:-1]:
        nxt = cur.get(part)
        if not isinstance(nxt, dict):
            nxt = cur[part] = {}
        cur = nxt
    cur[parts[-1]] = value


def get_path(data: Any, path: str) -> Any:
    cur = data
    for part in path.split("."):
        if not isinstance(cur, dict) or part not in cur:
            return None
        cur = cur[part]
    return cur


def when_values(when: dict[str, Any] | None) -> dict[str, Any]:
    """One assignment that satisfies a ``when`` condition (the first allowed value of each)."""
    return {k: (v[0] if isinstance(v, list) and v else v) for k, v in (when or {}).items()}


def field_kind(root: type[BaseModel], data: dict[str, Any], path: str) -> str | None:
    """``float``, ``int``, ``bool``, ``choice`` (a str or Literal field) for a scalar field at
    ``path`` of the document, else None (not a field, or not a scalar)."""
    parts = tuple(path.split("."))
    parent = model_at(parts[:-1], data, root)
    if parent is None or parts[-1] not in parent.model_fields:
        return None
    core = unwrap(parent.model_fields[parts[-1]].annotation)
    if core is bool:
        return "bool"
    if core is int:
        return "int"
    if core is float:
        return "float"
    if core is str or typing.get_origin(core) is typing.Literal:
        return "choice"
    return None


def candidates(param: Any, kind: str) -> list[tuple[str, Any]]:
    """(where in the entry, value) for every extreme value a dimension can sample."""
    if param.choices is not None:
        return [(f"choices[{i}]", c) for i, c in enumerate(param.choices)]
    low, high = param.low, param.high
    if kind == "int":
        return [("low", int(low)), ("high", int(high))]
    return [("low", float(low)), ("high", float(high))]


def check_search(entry: Any, check_one: Callable[[Any], None]) -> None:
    """Append a SpecError to ``entry.errors`` for each problem of its search section.

    ``check_one(entry)`` runs the cross-field checks on a (temporary) entry."""
    from repro.spec.schema import Spec

    search, doc = entry.spec.search, entry.doc
    if search is None or doc is None:
        return
    base = {k: v for k, v in doc.data.items() if k not in ("search", "extends")}

    def err(at: tuple, message: str, hint: str | None = None) -> None:
        field = ".".join(str(p) for p in at)
        entry.errors.append(SpecError(message, pos=doc.pos(at, value=True), field=field, hint=hint))

    for path, param in search.space.items():
        at = ("search", "space", path)
        if path.split(".")[0] in FORBIDDEN:
            err(at, f"'{path}' cannot be searched", "a sweep varies train, evaluate, model "
                "or seed fields")
            continue
        if path.split(".")[0] == "data":
            err(at, f"'{path}': searching data fields is not supported",
                "sweep over train, evaluate, model or seed fields")
            continue
        ctx = copy.deepcopy(base)
        for cond, value in when_values(param.when).items():
            set_path(ctx, cond, value)
        kind = field_kind(Spec, ctx, path)
        if kind is None and param.choices:  # e.g. train.peft.kind: its value picks the model
            probe = copy.deepcopy(ctx)
            set_path(probe, path, param.choices[0])
            kind = field_kind(Spec, probe, path)
        if kind is None:
            err(at, f"'{path}' is not a scalar field of the spec",
                "use a dotted path to a number, string or boolean field, e.g. "
                "train.optimizer.lr (with 'when' for a field of one kind, e.g. train.peft.r)")
            continue
        if param.choices is None and kind not in ("int", "float"):
            err(at, f"'{path}' is a {kind} field: give choices, not a range")
            continue
        if kind == "int" and param.choices is None:
            for key in ("low", "high", "step"):
                v = getattr(param, key)
                if v is not None and not float(v).is_integer():
                    err((*at, key), f"'{path}' is an integer field (got {v})")
        for where, value in candidates(param, kind):
            trial = copy.deepcopy(ctx)
            set_path(trial, path, value)
            problem = _invalid(trial, entry, check_one)
            if problem:
                err((*at, where.split("[")[0]), f"{where} = {value!r} gives an invalid spec: "
                    f"{problem}")
                break
    if search.sampler.name == "grid":
        for path, param in search.space.items():
            if param.choices is None and param.step is None:
                kind = field_kind(Spec, base, path)
                if kind != "int":
                    err(("search", "space", path), "the grid sampler needs choices or a step",
                        "add step: or give choices")
    objectives = search.objectives()
    if not objectives:
        err(("search", "objective"), "give at least one objective")
    produced = {m for metric in entry.spec.evaluate.metrics for m in PRODUCES.get(metric, (metric,))}
    for i, obj in enumerate(objectives):
        at = ("search", "objective", i) if isinstance(search.objective, list) else ("search", "objective")
        if obj.metric not in produced:
            err((*at, "metric"), f"'{obj.metric}' is not a metric this spec's evaluation writes",
                "evaluate.metrics gives: " + ", ".join(sorted(produced)))
    if len(objectives) > 1 and search.pruner.name != "none":
        err(("search", "pruner", "name"), "Optuna cannot prune multi-objective studies",
            "set pruner.name: none")
    if search.pruner.name != "none" and search.pruner.every is None:
        err(("search", "pruner", "every"), "a pruner needs intermediate values",
            "set pruner.every: N (validation loss every N steps)")
    if search.pruner.every is not None and entry.spec.train.method not in ("pretrain", "sft"):
        err(("search", "pruner", "every"), f"intermediate evaluation runs in repro's own loop "
            f"(pretrain, sft), not in '{entry.spec.train.method}'", "remove pruner.every")


def _invalid(data: dict[str, Any], entry: Any, check_one: Callable[[Any], None]) -> str | None:
    """Why ``data`` is not a valid spec (schema, then cross-field checks), or None."""
    from repro.spec.schema import Spec
    from repro.spec.workspace import Entry

    try:
        spec = Spec.model_validate(data)
    except ValidationError as e:
        first = e.errors()[0]
        msg = first["msg"].replace("Input should be", "must be")
        return f"{msg}"
    temp = Entry(name=entry.name, file=entry.file, doc=entry.doc, spec=spec)
    check_one(temp)
    if temp.errors:
        return f"{temp.errors[0].field}: {temp.errors[0].message}"
    return None


def grid_values(param: Any, kind: str) -> list[Any]:
    """Every value of a dimension under the grid sampler."""
    if param.choices is not None:
        return list(param.choices)
    step = param.step if param.step is not None else 1
    n = int(math.floor((param.high - param.low) / step + 1e-9)) + 1
    values = [param.low + i * step for i in range(n)]
    return [int(round(v)) for v in values] if kind == "int" else [float(v) for v in values]
