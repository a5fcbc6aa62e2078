"""How ``repro diff A B`` reads: causes grouped, outputs, metrics, then exactly one verdict line.

Every answer ends in one line starting ``verdict:`` (and no other line does): identical; inputs
differ; same inputs but different outputs (a reproducibility failure, exit 1); or outputs not
compared, with the reason. A base spec's differing fields are collapsed into one row under its
name (``base tiny-pretrain  3 fields``) unless ``expand`` asks for every row.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from repro.results.causes import UPSTREAM, VERDICT, short

if TYPE_CHECKING:
    from repro.results.diff import Diff



def _leaf(key: str) -> str:
    return key.rsplit(":", 1)[-1]


def cause_summary(d: Diff) -> str:
    """``spec 1, base tiny-pretrain 3``: how many inputs differ, by cause."""
    return ", ".join(f"{g} {len(rows)}" for g, rows in d.groups().items())


def _unbuilt_reason(d: Diff) -> str:
    parts = []
    for side, r in d.unbuilt:
        state = (r.missing or "without lineage records").split(":", 1)[0]
        parts.append(f"{side} ({r.label}) is {state} ({r.remedy or 'build it'})")
    return "; ".join(parts)


def verdict_line(d: Diff) -> str:
    v = d.verdict
    if v == "identical":
        return VERDICT + "identical: same inputs, same outputs (weights, metrics and logs bit for bit)"
    if v == "reproducibility failure":
        return (VERDICT + f"REPRODUCIBILITY FAILURE: same inputs, different outputs "
                f"({len(d.outputs)} output(s) differ)")
    if v == "outputs not compared":
        same = "identical specs" if d.unbuilt else "same inputs"
        return VERDICT + f"{same}; outputs not compared: {_unbuilt_reason(d)}"
    if not d.outputs_compared:
        outs = f"outputs not compared: {_unbuilt_reason(d)}"
    elif d.identical_outputs:
        outs = "outputs identical"
    else:
        outs = "outputs differ, as expected"
    return VERDICT + f"inputs differ: {len(d.inputs)} input(s) ({cause_summary(d)}); {outs}"


def input_rows(d: Diff, expand: bool) -> list[list[str]]:
    rows: list[list[str]] = []
    for g, items in d.groups().items():
        if g.startswith(UPSTREAM) and not expand:
            names = ", ".join(_leaf(i["key"]) for i in items[:2])
            more = ", …" if len(items) > 2 else ""
            rows.append([g, f"{len(items)} field(s): {names}{more}", "", ""])
            continue
        rows += [[g, i["key"], short(i["a"]), short(i["b"])] for i in items]
    return rows


def render(d: Diff, expand: bool = False, verdict: bool = True) -> str:
    from repro.ui import style, table

    lines = [f"A: {d.a.label}  ({d.a.source.label})", f"B: {d.b.label}  ({d.b.source.label})"]
    for side, r in (("A", d.a), ("B", d.b)):
        lines += [f"{side}: note: {n}" for n in r.notes]
    lines.append("")
    skipped = f" (not compared: {', '.join(d.not_compared)})" if d.not_compared else ""
    if d.inputs:
        lines.append(f"{len(d.inputs)} input(s) differ{skipped}:")
        lines.append(table(["cause", "input", "A", "B"], input_rows(d, expand)))
        if not expand and any(g.startswith(UPSTREAM) for g in d.groups()):
            lines.append(style("(a base spec's fields are collapsed: --expand lists them)",
                               "dim"))
    else:
        what = "specs identical" if d.unbuilt else "inputs: identical"
        lines.append(what + skipped)
    lines.append("")
    if not d.outputs_compared:
        lines.append("outputs: not compared (" + ", ".join(
            f"{side} has no lineage records" for side, _ in d.unbuilt) + ")")
    elif d.outputs:
        lines.append(f"{len(d.outputs)} output(s) differ:")
        lines.append(table(["output", "A", "B"],
                           [[o["key"], short(o["a"]), short(o["b"])] for o in d.outputs]))
    else:
        lines.append("outputs: identical (weights, metrics and logs bit for bit)")
    changed = [m for m in d.metrics if m["a"] != m["b"]]
    if d.metrics and d.outputs_compared:
        lines.append("")
        rows = [[m["key"], short(m["a"]), short(m["b"]),
                 "" if m["delta"] is None or m["delta"] == 0 else f"{m['delta']:+.6g}"]
                for m in (changed or d.metrics)]
        lines.append("metrics" + ("" if changed else " (all equal)") + ":")
        lines.append(table(["metric", "A", "B", "delta"], rows, right={1, 2, 3}))
    if d.provenance and d.outputs_compared:
        lines.append("")
        lines.append(style("provenance (not inputs: the code that ran is compared file by "
                           "file above):", "dim"))
        lines.append(table(["", "A", "B"],
                           [[p["key"], short(p["a"]), short(p["b"])] for p in d.provenance]))
    if verdict:
        lines.append("")
        if d.verdict == "reproducibility failure":
            lines.append(style("!" * 72, "red"))
        color = {"identical": "green", "reproducibility failure": "red"}.get(d.verdict)
        line = verdict_line(d)
        lines.append(style(line, color) if color else line)
    return "\n".join(lines)
