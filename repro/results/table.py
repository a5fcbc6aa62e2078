"""``repro show`` as a table: columns, ``--where`` filters, ``--sort``, and text/CSV/Markdown output.

Rows come from ``repro.results.show.experiment_rows``. Columns are the fixed ones (spec,
method, base, status) then one per headline metric any row has, the final training loss,
the base model's scores, the gates, and a sweep trial's params when there are trials.
The text table fits the terminal: long cells are cut with an ellipsis and, if that is not
enough, the least useful columns are dropped (``--columns`` picks them yourself).
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from typing import Any

from repro.errors import ReproError
from repro.results.show import LABELS, METRIC_ORDER, gates_cell, status_cell
from repro.ui import fmt_num, style

FIXED = ("spec", "method", "base", "status")
DROP_ORDER = ("params", "base score", "base", "loss", "method", "gates")  # dropped first to last
SHRINK = {"status": 16, "base": 12, "params": 16, "method": 10, "base score": 12}
STATUS_COLOURS = {"up to date": "green", "stale": "yellow", "failed": "red",
                  "not built": "dim", "invalid": "red", "complete": "green", "pruned": "yellow",
                  "fail": "red", "running": "blue"}
WHERE = re.compile(r"^\s*([A-Za-z_][\w ]*?)\s*(>=|<=|!=|=|>|<|~)\s*(.*?)\s*$")


@dataclass
class Column:
    name: str  # header
    key: str  # what --columns, --sort and --where call it (the metric name for metrics)
    numeric: bool = False


def columns(rows: list[dict[str, Any]]) -> list[Column]:
    """The columns these rows have values for, in display order."""
    metrics: set[str] = set()
    for r in rows:
        metrics |= set(r["scores"]) | set(r.get("wanted") or [])
    ordered = [m for m in METRIC_ORDER if m in metrics] + sorted(metrics - set(METRIC_ORDER))
    cols = [Column(c, c) for c in FIXED]
    cols += [Column(LABELS.get(m, m), m, numeric=True) for m in ordered]
    if any(r.get("train_loss") is not None for r in rows):
        cols.append(Column("loss", "loss", numeric=True))
    if any(r.get("base_metrics") for r in rows):
        cols.append(Column("base score", "base score"))
    if any(r.get("gates") for r in rows):
        cols.append(Column("gates", "gates"))
    if any(r.get("trial") is not None for r in rows):
        cols.append(Column("params", "params"))
    return cols


def value(row: dict[str, Any], col: Column) -> Any:
    """A cell's raw value (numbers stay numbers, for sorting and filtering)."""
    key = col.key
    if key in row["scores"]:
        return row["scores"][key]
    if col.numeric:
        return row.get("train_loss") if key == "loss" else None
    if key == "status":
        return row["status"]
    if key == "base score":
        b = row.get("base_metrics") or {}
        shown = {k: v for k, v in b.items() if k in ("exact_match", "preference_accuracy")}
        if not shown and "perplexity" in b:
            shown = {"perplexity": b["perplexity"]}
        return ", ".join(f"{_abbrev(k)} {fmt_num(v)}" for k, v in shown.items()) or None
    if key == "gates":
        return gates_cell(row.get("gates")) if row.get("gates") else None
    if key == "params":
        p = row.get("params") or {}
        return " ".join(f"{k.split('.')[-1]}={fmt_num(v)}" for k, v in p.items()) or None
    return row.get(key)


def _abbrev(metric: str) -> str:
    return {"exact_match": "em", "preference_accuracy": "pref", "perplexity": "ppl"}.get(
        metric, metric)


def text_cell(row: dict[str, Any], col: Column) -> str:
    if col.key == "status":
        return status_cell(row)
    v = value(row, col)
    return "-" if v is None else str(fmt_num(v))


def pick(cols: list[Column], names: list[str]) -> list[Column]:
    by = {c.key: c for c in cols} | {c.name: c for c in cols}
    unknown = [n for n in names if n not in by]
    if unknown:
        raise ReproError(f"--columns: no column {', '.join(map(repr, unknown))} "
                         f"(columns: {', '.join(c.key for c in cols)})")
    return [by[n] for n in names]


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def where(rows: list[dict[str, Any]], cols: list[Column], exprs: list[str]) -> list[dict]:
    """Keep the rows matching every ``COLUMN OP VALUE`` (OP: = != > < >= <= ~ contains)."""
    by = {c.key: c for c in cols} | {c.name: c for c in cols}
    for expr in exprs:
        m = WHERE.match(expr)
        if not m:
            raise ReproError(f"--where {expr!r}: expected COLUMN OP VALUE, e.g. "
                             "'exact_match>0.5', 'status=stale', 'method~lora'")
        name, op, want = m.groups()
        col = by.get(name)
        if col is None:
            raise ReproError(f"--where {expr!r}: no column {name!r} "
                             f"(columns: {', '.join(c.key for c in cols)})")
        num = _number(want)
        if op in (">", "<", ">=", "<=") and num is None:
            raise ReproError(f"--where {expr!r}: {op} needs a number (got {want!r})")

        def keep(row: dict[str, Any], col=col, op=op, want=want, num=num) -> bool:
            v = value(row, col)
            if op == "~":
                return want.lower() in ("" if v is None else str(v)).lower()
            if op in ("=", "!="):
                same = (v == num) if isinstance(v, (int, float)) and num is not None else (
                    str(v if v is not None else "-") == want
                    or (col.key == "status" and str(v).startswith(want)))
                return same if op == "=" else not same
            if not isinstance(v, (int, float)):
                return False
            return {">": v > num, "<": v < num, ">=": v >= num, "<=": v <= num}[op]

        rows = [r for r in rows if keep(r)]
    return rows


def sort(rows: list[dict[str, Any]], cols: list[Column], key: str, reverse: bool) -> list[dict]:
    col = pick(cols, [key])[0]
    present = [r for r in rows if value(r, col) is not None]
    missing = [r for r in rows if value(r, col) is None]  # always last
    present.sort(key=lambda r: (value(r, col) if col.numeric else str(value(r, col))),
                 reverse=reverse)
    return present + missing


def _ellipsis(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(width - 1, 1)] + "…"


def render_text(rows: list[dict[str, Any]], cols: list[Column], width: int | None,
                colour_stream: Any = None) -> str:
    """An aligned table no wider than ``width`` (None: no limit); status in colour on a tty."""
    cells = [[text_cell(r, c) for c in cols] for r in rows]
    cols = list(cols)
    if width:
        cols, cells = _fit(cols, cells, width)
    widths = [max([len(c.name)] + [len(row[i]) for row in cells]) for i, c in enumerate(cols)]

    def line(values: list[str], raw: list[str] | None = None) -> str:
        out = []
        for i, (c, text) in enumerate(zip(cols, values, strict=True)):
            pad = " " * (widths[i] - len(raw[i] if raw else text))
            out.append(pad + text if c.numeric else text + pad)
        return "  ".join(out).rstrip()

    lines = [line([c.name for c in cols]), "  ".join("-" * w for w in widths)]
    si = next((i for i, c in enumerate(cols) if c.key == "status"), None)
    for row, r in zip(cells, rows, strict=True):
        shown = list(row)
        if si is not None:
            colour = STATUS_COLOURS.get(r["status"].split(" (")[0])
            if colour:
                shown[si] = style(row[si], colour, colour_stream)
        lines.append(line(shown, row))
    return "\n".join(lines)


def _fit(cols: list[Column], cells: list[list[str]], width: int):
    def total() -> int:
        return sum(max([len(c.name)] + [len(r[i]) for r in cells])
                   for i, c in enumerate(cols)) + 2 * (len(cols) - 1)

    for name, least in SHRINK.items():  # first cut long cells
        if total() <= width:
            return cols, cells
        idx = next((i for i, c in enumerate(cols) if c.key == name), None)
        if idx is None:
            continue
        current = max([len(cols[idx].name)] + [len(r[idx]) for r in cells])
        room = max(least, current - (total() - width))
        cells = [[_ellipsis(v, room) if i == idx else v for i, v in enumerate(r)] for r in cells]
    for name in DROP_ORDER:  # then drop the least useful columns
        if total() <= width:
            break
        idx = next((i for i, c in enumerate(cols) if c.key == name), None)
        if idx is not None:
            cols = cols[:idx] + cols[idx + 1:]
            cells = [r[:idx] + r[idx + 1:] for r in cells]
    return cols, cells


def render_csv(rows: list[dict[str, Any]], cols: list[Column]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    why = any(c.key == "status" for c in cols)
    w.writerow([c.key for c in cols] + (["why"] if why else []))
    for r in rows:
        out = ["" if (v := value(r, c)) is None else v for c in cols]
        w.writerow(out + (["; ".join(r.get("why") or [])] if why else []))
    return buf.getvalue().rstrip("\n")


def render_md(rows: list[dict[str, Any]], cols: list[Column]) -> str:
    def esc(text: str) -> str:
        return text.replace("|", "\\|")

    lines = ["| " + " | ".join(c.name for c in cols) + " |",
             "|" + "|".join("---:" if c.numeric else "---" for c in cols) + "|"]
    for r in rows:
        lines.append("| " + " | ".join(esc(text_cell(r, c)) for c in cols) + " |")
    return "\n".join(lines)
