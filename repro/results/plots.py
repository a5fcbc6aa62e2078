"""``repro plots``: training curves overlaid across specs, metric comparisons and sweep plots.

The data: every ``runs/<spec>/*.csv`` whose first column is ``step`` (``train_log.csv``:
loss, learning rate, and a method's own columns such as rewards or accuracies; any other
step log a stage writes, e.g. validation loss), each column one chart with a line per
spec; the headline metrics of ``metrics.json`` (a bar per spec, next to its base model's);
and a sweep's ``study.json`` (objective per trial, intermediate values, each searched
param against the objective). Written as one self-contained HTML page (inline SVG) and a
PNG per chart (matplotlib, imported only here).
"""

from __future__ import annotations

import csv
import io
import math
from html import escape
from pathlib import Path

from repro.contract import paths
from repro.results.charts import STYLE, Chart, Series, svg
from repro.results.show import LABELS, METRIC_ORDER, headline, read_json


def _float(text: str) -> float:
    try:
        return float(text)
    except (TypeError, ValueError):
        return math.nan


def step_logs(root: Path, spec: str) -> dict[str, list[tuple[float, float]]]:
    """column -> [(step, value)] from every step log of a spec (``train_log.csv`` first)."""
    d = root / paths.spec_dir(spec)
    out: dict[str, list[tuple[float, float]]] = {}
    files = sorted(d.glob("*.csv"), key=lambda p: (p.name != paths.TRAIN_LOG, p.name))
    for f in files:
        try:
            reader = csv.reader(io.StringIO(f.read_text(encoding="utf-8")))
            header = next(reader)
        except (OSError, StopIteration, UnicodeDecodeError):
            continue
        if not header or header[0] != "step":
            continue
        prefix = "" if f.name == paths.TRAIN_LOG else f.stem.removesuffix("_log") + " "
        for row in reader:
            step = _float(row[0]) if row else math.nan
            for name, cell in zip(header[1:], row[1:], strict=False):
                v = _float(cell)
                if math.isfinite(step) and math.isfinite(v):
                    out.setdefault(prefix + name, []).append((step, v))
    return out


def curve_charts(root: Path, specs: list[str]) -> list[Chart]:
    """One chart per logged column, a line per spec that logged it."""
    by_col: dict[str, list[Series]] = {}
    for spec in specs:
        for col, pts in step_logs(root, spec).items():
            by_col.setdefault(col, []).append(Series(spec, pts))
    order = sorted(by_col, key=lambda c: (c != "loss", c != "lr", c))
    return [Chart(f"curve-{_slug(c)}", f"{c} by step", "line", by_col[c], "step", c)
            for c in order]


def metric_charts(root: Path, specs: list[str]) -> list[Chart]:
    """A bar chart per headline metric: each spec, and its base model when evaluated."""
    scores, bases = {}, {}
    for spec in specs:
        m = read_json(root / paths.spec_dir(spec) / paths.METRICS)
        if m:
            scores[spec] = headline(m)
            bases[spec] = headline(m.get("base")) if isinstance(m.get("base"), dict) else {}
    names = {k for s in scores.values() for k in s}
    ordered = [m for m in METRIC_ORDER if m in names] + sorted(names - set(METRIC_ORDER))
    charts = []
    for metric in ordered:
        cats = [s for s in specs if metric in scores.get(s, {})]
        model = Series("trained", [(i, scores[s][metric]) for i, s in enumerate(cats)])
        base = Series("base model", [(i, bases[s][metric]) for i, s in enumerate(cats)
                                     if metric in bases.get(s, {})])
        label = LABELS.get(metric, metric)
        charts.append(Chart(f"metric-{_slug(metric)}", f"{label} by spec", "bar",
                            [model] + ([base] if base.points else []), "spec", label, cats,
                            log_y=metric == "perplexity"))
    return charts


def sweep_charts(root: Path, spec: str) -> list[Chart]:
    """From ``runs/<spec>/study.json``: objective per trial, learning curves, params."""
    study = read_json(root / paths.spec_dir(spec) / "study.json")
    if not study or not isinstance(study.get("trials"), list):
        return []
    objectives = [o for o in study.get("objectives") or [] if isinstance(o, dict)]
    metric = str(objectives[0].get("metric", "objective")) if objectives else "objective"
    direction = objectives[0].get("direction", "") if objectives else ""
    trials = [t for t in study["trials"] if isinstance(t, dict)]
    best = study.get("best_trial")

    def value(t: dict) -> float | None:
        v = t.get("values") or []
        return v[0] if v and isinstance(v[0], (int, float)) else None

    groups: dict[str, list[tuple[float, float]]] = {}
    for t in trials:
        v = value(t)
        if v is None:  # pruned or failed: its last intermediate value, if any
            inter = t.get("intermediate") or {}
            v = inter[max(inter, key=_float)] if inter else None
        if v is not None and isinstance(t.get("number"), int):
            key = "best" if t["number"] == best else str(t.get("state", "?")).lower()
            groups.setdefault(key, []).append((t["number"], float(v)))
    charts = [Chart(f"sweep-{_slug(spec)}-trials", f"{spec}: {metric} per trial "
                    f"({direction})", "scatter",
                    [Series(k, groups[k]) for k in sorted(groups)], "trial", metric)]
    curves = [Series(f"#{t.get('number')}", sorted((_float(k), float(v)) for k, v in
                                                   (t.get("intermediate") or {}).items()))
              for t in trials if t.get("intermediate")]
    if curves:
        charts.append(Chart(f"sweep-{_slug(spec)}-curves", f"{spec}: intermediate {metric}",
                            "line", curves, "step", metric))
    params = sorted({p for t in trials for p in (t.get("params") or {})})
    for p in params:
        pts = [(float(t["params"][p]), value(t)) for t in trials
               if isinstance((t.get("params") or {}).get(p), (int, float))
               and value(t) is not None]
        if pts:
            charts.append(Chart(f"sweep-{_slug(spec)}-{_slug(p)}", f"{spec}: {metric} by {p}",
                                "scatter", [Series(metric, pts)], p, metric))
    return charts


def all_charts(root: Path, specs: list[str]) -> dict[str, list[Chart]]:
    sweeps = [c for s in specs for c in sweep_charts(root, s)]
    return {"Training curves": curve_charts(root, specs),
            "Metrics": metric_charts(root, specs), "Sweeps": sweeps}


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in text.lower()).strip("-")


def html_sections(sections: dict[str, list[Chart]], level: int = 2) -> str:
    out = []
    for title, charts in sections.items():
        if not charts:
            continue
        out.append(f'<section id="{_slug(title)}"><h{level}>{escape(title)}</h{level}>')
        out.append('<div class="charts">' + "".join(svg(c) for c in charts) + "</div></section>")
    return "\n".join(out)


def page(title: str, body: str, extra_style: str = "") -> str:
    return (f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{escape(title)}</title><style>{PAGE_STYLE}{STYLE}{extra_style}</style>"
            f"</head><body><h1>{escape(title)}</h1>\n{body}\n</body></html>\n")


PAGE_STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #222; }
.charts { display: flex; flex-wrap: wrap; }
table { border-collapse: collapse; margin: .5em 0; } td, th { border: 1px solid #ccc;
  padding: 2px 8px; text-align: left; } td.num { text-align: right; }
pre { background: #f6f6f6; padding: .6em; overflow-x: auto; font-size: 12px; }
.ok { color: #080; } .bad { color: #b00; } .warn { color: #a60; } .dim { color: #888; }
"""


def png(chart: Chart, path: Path) -> None:
    """The chart as a PNG image (matplotlib, Agg)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3.6), dpi=100)
    try:
        for i, s in enumerate(chart.series):
            xs, ys = [p[0] for p in s.points], [p[1] for p in s.points]
            if chart.kind == "line":
                ax.plot(xs, ys, label=s.label, linewidth=1.4)
            elif chart.kind == "bar":
                n = len(chart.series)
                ax.bar([x - 0.4 + (i + 0.5) * 0.8 / n for x in xs], ys, width=0.8 / n,
                       label=s.label)
            else:
                ax.scatter(xs, ys, label=s.label, s=18)
        if chart.kind == "bar":
            ax.set_xticks(range(len(chart.categories)), chart.categories, rotation=20,
                          fontsize=8)
        if chart.log_y:
            ax.set_yscale("log")
        ax.set_title(chart.title, fontsize=10)
        ax.set_xlabel(chart.x_label)
        ax.set_ylabel(chart.y_label)
        ax.grid(alpha=0.3)
        if chart.series:
            ax.legend(fontsize=7, loc="best")
        fig.tight_layout()
        fig.savefig(path)
    finally:
        plt.close(fig)


def write_plots(root: Path, specs: list[str], out_dir: Path, images: bool = True
                ) -> list[Path]:
    """``plots.html`` (and a PNG per chart) under ``out_dir``; the files written."""
    from repro.contract.fsio import write_text_atomic

    sections = all_charts(root, specs)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    body = html_sections(sections) or "<p>No results to plot yet: run <code>repro</code>.</p>"
    html = out_dir / "plots.html"
    write_text_atomic(html, page("repro plots", body))
    written.append(html)
    if images:
        for charts in sections.values():
            for c in charts:
                if c.n_points:
                    png(c, out_dir / f"{c.id}.png")
                    written.append(out_dir / f"{c.id}.png")
    return written
