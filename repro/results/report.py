"""``repro report``: one static page for the whole workspace, readable offline.

The experiments table (as ``repro show``), the gates, the charts of ``repro plots``, a
section per spec (its state and why, metrics, gates, lineage summary as ``repro lineage``
prints it, links to its files) and the data cards. Inline CSS and SVG, no script: the
page needs nothing but itself and, for its file links, the workspace next to it.
"""

from __future__ import annotations

import json
import os
from html import escape
from pathlib import Path
from typing import Any

from repro.contract import paths
from repro.results import table as t
from repro.results.plots import _slug, all_charts, html_sections, page
from repro.results.show import experiment_rows, gates_cell, status_cell

STATE_CLASS = {"up to date": "ok", "stale": "warn", "failed": "bad", "invalid": "bad",
               "not built": "dim"}


def _link(out_dir: Path, target: Path, text: str) -> str:
    href = os.path.relpath(target, out_dir).replace(os.sep, "/")
    return f'<a href="{escape(href)}">{escape(text)}</a>'


def results_table(rows: list[dict[str, Any]]) -> str:
    cols = t.columns(rows)
    head = "".join(f"<th>{escape(c.name)}</th>" for c in cols)
    body = []
    for r in rows:
        cells = []
        for c in cols:
            text = t.text_cell(r, c)
            if c.key == "spec":
                anchor = r["parent"] or r["spec"]
                text_html = f'<a href="#spec-{_slug(anchor)}">{escape(text)}</a>'
            elif c.key == "status":
                cls = STATE_CLASS.get(r["status"], "")
                text_html = f'<span class="{cls}">{escape(text)}</span>'
            else:
                text_html = escape(text)
            cells.append(f'<td class="{"num" if c.numeric else ""}">{text_html}</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (f'<table id="results-table"><thead><tr>{head}</tr></thead><tbody>'
            + "".join(body) + "</tbody></table>")


def gates_table(summary: dict[str, Any]) -> str:
    keys = ("metric", "kind", "value", "threshold", "reference", "reference_value", "message")
    rows = []
    for g in summary["gates"]:
        cls = "ok" if g.get("passed") else "bad"
        cells = "".join(f"<td>{escape(str(g.get(k, '')) if g.get(k) is not None else '-')}</td>"
                        for k in keys)
        rows.append(f'<tr><td class="{cls}">{"pass" if g.get("passed") else "FAIL"}</td>'
                    f"{cells}</tr>")
    head = "".join(f"<th>{k}</th>" for k in ("", *keys))
    return f'<table class="gates"><tr>{head}</tr>{"".join(rows)}</table>'


def _lineage_text(root: Path, spec: str) -> str | None:
    from repro.errors import ReproError
    from repro.results.ancestry import ancestry, render_tree
    from repro.results.result import load_result

    try:
        tree = ancestry(load_result(spec, root))
    except ReproError:
        return None
    return render_tree(tree) if tree.record is not None else None


def spec_section(root: Path, out_dir: Path, row: dict[str, Any]) -> str:
    name = row["spec"]
    d = root / paths.spec_dir(name)
    cls = STATE_CLASS.get(row["status"], "")
    parts = [f'<section class="spec" id="spec-{_slug(name)}"><h3>{escape(name)}</h3>']
    if row.get("description"):
        parts.append(f"<p>{escape(row['description'])}</p>")
    parts.append(f'<p>{escape(row["method"])}, base {escape(row["base"])}; '
                 f'<span class="{cls}">{escape(status_cell(row))}</span></p>')
    if len(row.get("why") or []) > 1:
        parts.append("<ul>" + "".join(f"<li>{escape(w)}</li>" for w in row["why"]) + "</ul>")
    files = [f for f in (paths.METRICS, paths.TRAIN_METRICS, paths.TRAIN_LOG, "gates.json",
                         "study.json", paths.lineage_file("train"),
                         paths.lineage_file("evaluate")) if (d / f).is_file()]
    if files:
        parts.append("<p>files: " + ", ".join(_link(out_dir, d / f, f) for f in files)
                     + "</p>")
    if row.get("metrics"):
        parts.append("<h4>metrics</h4><pre>" + escape(json.dumps(row["metrics"], indent=2))
                     + "</pre>")
    if row.get("gates"):
        parts.append(f"<h4>gates: {escape(gates_cell(row['gates']))}</h4>"
                     + gates_table(row["gates"]))
    tree = _lineage_text(root, name)
    if tree:
        parts.append(f"<h4>lineage</h4><pre class=\"lineage\">{escape(tree)}</pre>")
    parts.append('<p><a href="#results">back to the table</a></p></section>')
    return "\n".join(parts)


def data_section(root: Path, entries: list) -> str:
    from repro.data.cards import detail, overview, read_card
    from repro.errors import ReproError
    from repro.pipeline.compiler import spec_keys

    try:
        keys = spec_keys(root, entries)
    except ReproError:
        keys = {}
    text, sets = overview(root, keys)
    parts = ['<section id="data"><h2>Data</h2>', f"<pre>{escape(text)}</pre>"]
    for s in sets:
        card = read_card(root, s["key"])
        if card is not None:
            parts.append(f'<h3 id="data-{_slug(s["key"])}">{escape(s["key"])}</h3>'
                         f"<pre>{escape(detail(s['key'], card, s['specs']))}</pre>")
    parts.append("</section>")
    return "\n".join(parts)


def write_report(root: Path, entries: list, selected: list, out: Path) -> Path:
    """The workspace page at ``out`` (a file); returns its path."""
    from repro.contract.fsio import write_text_atomic

    out = out.resolve()
    rows = experiment_rows(root, entries, selected)
    specs = [r for r in rows if r["trial"] is None]
    gated = [r for r in specs if r.get("gates")]
    nav = ('<nav><a href="#results">results</a> · <a href="#gates">gates</a> · '
           '<a href="#charts">charts</a> · <a href="#specs">specs</a> · '
           '<a href="#data">data</a></nav>')
    body = [nav, '<section id="results"><h2>Results</h2>', results_table(rows), "</section>"]
    body.append('<section id="gates"><h2>Gates</h2>')
    if gated:
        body.append("<ul>" + "".join(
            f'<li><a href="#spec-{_slug(r["spec"])}">{escape(r["spec"])}</a>: '
            f'<span class="{"ok" if r["gates"]["passed"] else "bad"}">'
            f'{escape(gates_cell(r["gates"]))}</span>'
            + "".join(f"<br>{escape(m)}" for m in r["gates"]["failed"]) + "</li>"
            for r in gated) + "</ul>")
    else:
        body.append("<p>No spec has gates results (runs/&lt;spec&gt;/gates.json).</p>")
    body.append("</section>")
    charts = html_sections(all_charts(root, [r["spec"] for r in specs]), level=3)
    body.append(f'<section id="charts"><h2>Charts</h2>{charts or "<p>No results yet.</p>"}'
                "</section>")
    body.append('<section id="specs"><h2>Specs</h2>')
    body += [spec_section(root, out.parent, r) for r in specs]
    body.append("</section>")
    body.append(data_section(root, entries))
    write_text_atomic(out, page(f"repro report: {root.name}", "\n".join(body)))
    return out
