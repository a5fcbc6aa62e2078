"""Charts as inline SVG (no JavaScript, no CDN: a page that holds them works offline).

``Chart`` is what to draw, independent of the output: ``svg()`` here for the HTML pages,
``repro.results.plots.png`` (matplotlib) for image files. Kinds: ``line`` (curves, one
series each), ``bar`` (one value per label) and ``scatter`` (points, one series per group).
Every series is drawn with ``data-series`` and ``data-points`` attributes, so a test (or a
reader's script) can tell a chart that has data from an empty frame.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from html import escape

PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
           "#7f7f7f", "#bcbd22", "#17becf")
W, H = 640, 320
LEFT, RIGHT, TOP, BOTTOM = 64, 150, 30, 42


@dataclass
class Series:
    label: str
    points: list[tuple[float, float]]  # (x, y); for a bar chart x is the bar's index


@dataclass
class Chart:
    id: str
    title: str
    kind: str  # line | bar | scatter
    series: list[Series] = field(default_factory=list)
    x_label: str = ""
    y_label: str = ""
    categories: list[str] = field(default_factory=list)  # bar labels
    log_y: bool = False
    note: str = ""

    @property
    def n_points(self) -> int:
        return sum(len(s.points) for s in self.series)


def _finite(v: float) -> bool:
    return isinstance(v, (int, float)) and math.isfinite(v)


def ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    """About ``n`` round tick values covering [lo, hi]."""
    if hi <= lo:
        hi = lo + 1.0
    raw = (hi - lo) / n
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    start = math.floor(lo / step) * step
    out, v = [], start
    while v <= hi + step * 1e-9:
        out.append(round(v, 12))
        v += step
    return out


def _fmt(v: float) -> str:
    if v == 0:
        return "0"
    if abs(v) >= 1e4 or abs(v) < 1e-3:
        return f"{v:.1e}"
    return f"{v:.4g}"


def svg(chart: Chart) -> str:
    """The chart as one ``<svg>`` element."""
    pts = [(x, y) for s in chart.series for x, y in s.points if _finite(x) and _finite(y)
           and (y > 0 or not chart.log_y)]
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="{escape(chart.id)}" '
            f'viewBox="0 0 {W} {H}" width="{W}" height="{H}" role="img" '
            f'data-kind="{chart.kind}" data-series="{len(chart.series)}" '
            f'data-points="{len(pts)}"><title>{escape(chart.title)}</title>'
            f'<text x="{W / 2}" y="18" text-anchor="middle" class="title">'
            f'{escape(chart.title)}</text>')
    if not pts:
        return head + f'<text x="{W / 2}" y="{H / 2}" text-anchor="middle">no data</text></svg>'
    ty = (lambda y: math.log10(y)) if chart.log_y else (lambda y: y)
    xs = [x for x, _ in pts]
    ys = [ty(y) for _, y in pts]
    if chart.kind == "bar":
        x0, x1 = -0.5, max(len(chart.categories), 1) - 0.5
        y0, y1 = min(0.0, min(ys)), max(0.0, max(ys))
    else:
        x0, x1 = min(xs), max(xs)
        y0, y1 = min(ys), max(ys)
    if x1 == x0:
        x0, x1 = x0 - 1, x1 + 1
    if y1 == y0:
        y0, y1 = y0 - 1, y1 + 1
    pad = (y1 - y0) * 0.05
    y0, y1 = (y0 - pad if chart.kind != "bar" or y0 < 0 else y0), y1 + pad
    pw, ph = W - LEFT - RIGHT, H - TOP - BOTTOM

    def px(x: float) -> float:
        return LEFT + (x - x0) / (x1 - x0) * pw

    def py(y: float) -> float:
        return TOP + ph - (ty(y) - y0) / (y1 - y0) * ph

    out = [head, f'<rect x="{LEFT}" y="{TOP}" width="{pw}" height="{ph}" class="frame"/>']
    for t in ticks(y0, y1):
        if y0 <= t <= y1:
            y = TOP + ph - (t - y0) / (y1 - y0) * ph
            label = _fmt(10 ** t) if chart.log_y else _fmt(t)
            out.append(f'<line x1="{LEFT}" x2="{LEFT + pw}" y1="{y:.1f}" y2="{y:.1f}" '
                       f'class="grid"/><text x="{LEFT - 4}" y="{y + 4:.1f}" '
                       f'text-anchor="end">{label}</text>')
    if chart.kind == "bar":
        for i, cat in enumerate(chart.categories):
            out.append(f'<text x="{px(i):.1f}" y="{TOP + ph + 14}" text-anchor="middle">'
                       f'{escape(cat[:14])}</text>')
    else:
        for t in ticks(x0, x1):
            if x0 <= t <= x1:
                out.append(f'<text x="{px(t):.1f}" y="{TOP + ph + 14}" '
                           f'text-anchor="middle">{_fmt(t)}</text>')
    out.append(f'<text x="{LEFT + pw / 2}" y="{H - 6}" text-anchor="middle">'
               f'{escape(chart.x_label)}</text>')
    out.append(f'<text x="14" y="{TOP + ph / 2}" text-anchor="middle" '
               f'transform="rotate(-90 14 {TOP + ph / 2})">{escape(chart.y_label)}'
               f'{" (log)" if chart.log_y else ""}</text>')
    n = max(len(chart.series), 1)
    for i, s in enumerate(chart.series):
        colour = PALETTE[i % len(PALETTE)]
        good = [(x, y) for x, y in s.points if _finite(x) and _finite(y)
                and (y > 0 or not chart.log_y)]
        attrs = (f'data-series="{escape(s.label)}" data-points="{len(good)}" '
                 f'fill="{colour}" stroke="{colour}"')
        if chart.kind == "line" and len(good) > 1:
            path = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in good)
            out.append(f'<polyline {attrs} fill-opacity="0" stroke-width="1.6" '
                       f'points="{path}"><title>{escape(s.label)}</title></polyline>')
        elif chart.kind == "bar":
            bw = pw / max(len(chart.categories), 1) * 0.8 / n
            base = py(max(y0, 0.0) if not chart.log_y else 10 ** y0)
            out.append(f'<g {attrs}>')
            for x, y in good:
                left = px(x) - bw * n / 2 + i * bw
                top = min(py(y), base)
                out.append(f'<rect x="{left:.1f}" y="{top:.1f}" width="{bw:.1f}" '
                           f'height="{abs(base - py(y)):.1f}"><title>{escape(s.label)}: '
                           f'{_fmt(y)}</title></rect>')
            out.append("</g>")
        else:
            out.append(f'<g {attrs}>' + "".join(
                f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="3.5"><title>{escape(s.label)} '
                f'({_fmt(x)}, {_fmt(y)})</title></circle>' for x, y in good) + "</g>")
        ly = TOP + 12 + i * 16
        out.append(f'<rect x="{W - RIGHT + 10}" y="{ly - 9}" width="10" height="10" '
                   f'fill="{colour}"/><text x="{W - RIGHT + 24}" y="{ly}">'
                   f'{escape(s.label[:20])}</text>')
    out.append("</svg>")
    return "".join(out)


STYLE = """
svg.chart { background: #fff; font: 11px sans-serif; margin: 6px; border: 1px solid #ddd; }
svg.chart .title { font-size: 13px; font-weight: bold; }
svg.chart .frame { fill: none; stroke: #999; }
svg.chart .grid { stroke: #eee; }
"""
