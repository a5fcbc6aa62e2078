"""How ``repro diff REV [REV]`` reads: as text, or as Markdown for a pull-request comment.

One block per result added, removed or changed (its causes grouped, a base spec's fields
collapsed unless ``expand``; its metric deltas; why outputs were not compared), then exactly
one ``verdict:`` line, last.
"""

from __future__ import annotations

from typing import Any

from repro.results.causes import UPSTREAM, VERDICT
from repro.results.causes import short as _short
from repro.results.revdiff import Change, RevDiff, why_not_compared

BUILT = {"fresh": "built", "stale": "stale", "unbuilt": "not built", "missing": "not local",
         "-": "-"}


def short(v: Any, n: int = 40) -> str:
    s = str(v)
    if len(s) in (32, 40) and all(c in "0123456789abcdef" for c in s):
        return s[:10]  # a git blob id, an md5
    return _short(v, n)


def _footer(d: RevDiff) -> list[str]:
    lines = []
    for w in why_not_compared(d):
        lines.append(f"outputs not compared for {len(w['specs'])} result(s): {w['side']} "
                     f"({w['label']}): {w['why']}: {', '.join(w['specs'])}; to compare them: "
                     f"{w['how']}")
    return lines


def verdict_line(d: RevDiff) -> str:
    listed = d.listed()
    counts = {s: sum(c.status == s for c in listed) for s in ("added", "removed", "changed")}
    unchanged = len(d.changes) - len(listed)
    if not listed:
        return VERDICT + f"no result changed ({unchanged} unchanged)"
    line = (f"{len(listed)} result(s) changed ({counts['added']} added, {counts['removed']} "
            f"removed, {counts['changed']} changed), {unchanged} unchanged")
    if d.failures:
        names = ", ".join(c.spec for c in d.failures)
        line += f"; REPRODUCIBILITY FAILURE: same inputs, different outputs: {names}"
    return VERDICT + line


def _cause_rows(c: Change, expand: bool) -> list[list[str]]:
    rows = []
    for g, items in c.groups().items():
        if g.startswith(UPSTREAM) and not expand:
            names = ", ".join(i["key"].rsplit(":", 1)[-1] for i in items[:2])
            rows.append([g, f"{len(items)} field(s): {names}{', …' if len(items) > 2 else ''}",
                         "", ""])
        else:
            rows += [[g, i["key"], short(i["a"], 24), short(i["b"], 24)] for i in items]
    return rows


def _metric_rows(c: Change) -> list[list[str]]:
    return [[m["key"], short(m["a"]), short(m["b"]),
             "" if m["delta"] is None else f"{m['delta']:+.6g}"] for m in c.metrics]


def _summary(c: Change) -> str:
    if c.status in ("added", "removed"):
        return c.status
    return f"{c.verdict}: " + ", ".join(f"{g} {len(r)}" for g, r in c.groups().items()) \
        if c.inputs else c.verdict


def render_text(d: RevDiff, expand: bool = False) -> str:
    from repro.ui import table

    lines = [f"A: {d.a.label}", f"B: {d.b.label}"]
    lines += [f"A: note: {n}" for n in d.a.notes] + [f"B: note: {n}" for n in d.b.notes]
    for c in d.listed():
        lines += ["", f"{c.status}: {c.spec}  ({_summary(c)}; A {BUILT[c.built_a]}, "
                  f"B {BUILT[c.built_b]})"]
        if c.inputs:
            lines.append(table(["cause", "input", "A", "B"], _cause_rows(c, expand)))
        if c.outputs:
            lines.append(f"{len(c.outputs)} output(s) differ: "
                         + ", ".join(o["key"] for o in c.outputs))
        if c.metrics:
            lines.append(table(["metric", "A", "B", "delta"], _metric_rows(c),
                               right={1, 2, 3}))
        elif c.status == "changed":
            lines.append("metrics: not compared (below: why)")
        lines += [f"  note: {n}" for n in c.notes]
    footer = _footer(d)
    if footer:
        lines += [""] + footer
    lines += ["", verdict_line(d)]
    return "\n".join(lines)


def _md_cell(s: str) -> str:
    return s.replace("|", "\\|").replace("\n", " ")


def render_markdown(d: RevDiff, expand: bool = False) -> str:
    """A pull-request comment: a summary table, then each changed result's causes."""
    listed = d.listed()
    lines = [f"### repro diff `{d.a.label}` → `{d.b.label}`", ""]
    if listed:
        lines += ["| result | change | causes | metrics |", "|---|---|---|---|"]
        for c in listed:
            causes = "; ".join(
                f"{g}: " + ", ".join(f"`{r[1]}`" for r in _cause_rows(c, False)
                                     if r[0] == g)
                for g in c.groups()) or "-"
            metrics = "<br>".join(
                f"{m['key']} {short(m['a'])} → {short(m['b'])}"
                + (f" ({m['delta']:+.4g})" if m["delta"] is not None else "")
                for m in c.metrics) or f"not compared (A {BUILT[c.built_a]}, " \
                                        f"B {BUILT[c.built_b]})"
            lines.append(f"| `{c.spec}` | {c.status} | {_md_cell(causes)} | "
                         f"{_md_cell(metrics)} |")
        details = [c for c in listed if c.inputs or c.notes]
        if details:
            lines += ["", "<details><summary>every differing input</summary>", ""]
            for c in details:
                lines += [f"**{c.spec}**", "", "| cause | input | A | B |", "|---|---|---|---|"]
                lines += [f"| {_md_cell(r[0])} | `{_md_cell(r[1])}` | {_md_cell(r[2])} | "
                          f"{_md_cell(r[3])} |" for r in _cause_rows(c, True)]
                lines += [""] + [f"- {_md_cell(n)}" for n in c.notes] + ([""] if c.notes else [])
            lines += ["</details>"]
    notes = [f"A: {n}" for n in d.a.notes] + [f"B: {n}" for n in d.b.notes] + _footer(d)
    if notes:
        lines += [""] + [f"- {_md_cell(n)}" for n in notes]
    lines += ["", f"**{verdict_line(d)}**"]
    return "\n".join(lines)
