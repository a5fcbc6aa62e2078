"""Regression gates: thresholds on metrics, checked after evaluation; the result is gates.json.

``{"passed": bool, "gates": [{"metric", "kind": "min"|"max"|"max_regression"|"ci_disjoint",
"value", "threshold", "reference", "reference_value", "passed", "message"}]}``. A reference is
another spec's ``runs/<spec>/metrics.json`` (its evaluate stage is a dependency).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from repro.contract import paths

LOWER_IS_BETTER = ("perplexity", "bits_per_byte")


def lookup(metrics: dict[str, Any], dotted: str) -> Any:
    node: Any = metrics
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def ci_of(metrics: dict[str, Any], dotted: str) -> list[float] | None:
    """The 95% interval of a metric: ``ci95`` next to it (``a.b.c`` -> ``a.b.ci95.c``)."""
    head, _, leaf = dotted.rpartition(".")
    return lookup(metrics, f"{head}.ci95.{leaf}" if head else f"ci95.{leaf}")


def higher_is_better(gate: dict[str, Any]) -> bool:
    if gate.get("higher_is_better") is not None:
        return bool(gate["higher_is_better"])
    leaf = gate["metric"].rsplit(".", 1)[-1]
    return not (leaf.endswith("perplexity") or leaf == "bits_per_byte")


def _num(v: Any) -> float | None:
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else None


def _entry(metric: str, kind: str, value, threshold, reference, ref_value, passed: bool,
           message: str) -> dict[str, Any]:
    return {"metric": metric, "kind": kind, "value": value, "threshold": threshold,
            "reference": reference, "reference_value": ref_value, "passed": passed,
            "message": message}


def check(metrics: dict[str, Any], gates: list[dict[str, Any]], root: Path) -> dict[str, Any]:
    """Every gate of the spec against ``metrics``; one entry per kind a gate sets."""
    out = []
    for g in gates:
        name = g["metric"]
        value = _num(lookup(metrics, name))
        up = higher_is_better(g)
        if value is None or math.isnan(value):
            kinds = [k for k in ("min", "max", "max_regression") if g.get(k) is not None]
            for kind in kinds or ["ci_disjoint"]:
                out.append(_entry(name, kind, math.nan, math.nan, g.get("against"), None, False,
                                  f"{name}: no value in metrics.json"))
            continue
        if g.get("min") is not None:
            t = float(g["min"])
            ok = value >= t
            out.append(_entry(name, "min", value, t, None, None, ok,
                              f"{name} = {value:g} {'>=' if ok else '<'} floor {t:g}"))
        if g.get("max") is not None:
            t = float(g["max"])
            ok = value <= t
            out.append(_entry(name, "max", value, t, None, None, ok,
                              f"{name} = {value:g} {'<=' if ok else '>'} ceiling {t:g}"))
        ref = g.get("against")
        if ref is None:
            continue
        ref_metrics = _reference(root, ref)
        ref_value = _num(lookup(ref_metrics, name)) if ref_metrics is not None else None
        where = f"spec '{ref}' ({(paths.spec_dir(ref) / paths.METRICS).as_posix()})"
        if g.get("max_regression") is not None:
            reg = float(g["max_regression"])
            if ref_value is None:
                out.append(_entry(name, "max_regression", value, math.nan, ref, None, False,
                                  f"{name}: no reference value in {where}"))
            else:
                allowed = reg * abs(ref_value) if g.get("relative") else reg
                t = ref_value - allowed if up else ref_value + allowed
                ok = value >= t if up else value <= t
                how = f"{reg:g} x |reference|" if g.get("relative") else f"{reg:g}"
                out.append(_entry(
                    name, "max_regression", value, t, ref, ref_value, ok,
                    f"{name} = {value:g} {'within' if ok else 'regressed past'} threshold {t:g} "
                    f"(reference {ref_value:g} from {where}, max regression {how})"))
        if g.get("ci_disjoint"):
            mine = ci_of(metrics, name)
            theirs = ci_of(ref_metrics, name) if ref_metrics is not None else None
            if not mine or not theirs:
                out.append(_entry(name, "ci_disjoint", value, math.nan, ref, ref_value, False,
                                  f"{name}: no 95% interval here or in {where}"))
                continue
            t = float(theirs[1] if up else theirs[0])
            bound = float(mine[0] if up else mine[1])
            ok = bound > t if up else bound < t
            out.append(_entry(
                name, "ci_disjoint", value, t, ref, ref_value, ok,
                f"{name} 95% interval {mine} {'is clear of' if ok else 'overlaps'} the "
                f"reference's {theirs} (from {where})"))
    return {"passed": all(e["passed"] for e in out), "gates": out}


def _reference(root: Path, spec: str) -> dict[str, Any] | None:
    path = root / paths.spec_dir(spec) / paths.METRICS
    if not path.is_file():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def failures(result: dict[str, Any]) -> list[str]:
    return [f"gate failed: {e['message']}" for e in result["gates"] if not e["passed"]]
