"""DVC-native plots: every train-log curve, overlaid across comparable specs, offline.

``definitions`` is the top-level ``plots:`` of ``dvc.yaml`` (ids ``repro-*``, rewritten on
every compile; plots of your own are kept): one chart per curve and family of methods
(``repro.contract.curves``), with one line per spec, so ``dvc plots show`` and ``dvc plots
diff`` draw loss, validation loss, learning rate, rewards and accuracies side by side.

DVC's page loads Vega from a CDN, so it is blank offline. ``offline_template`` is an HTML
template for ``dvc plots show`` with vega, vega-lite and vega-embed inlined (vendored under
``repro/assets/vega`` with their BSD-3-Clause licenses); ``write_offline_template`` puts it in
``.dvc/plots.html`` and names it in ``.dvc/config`` (``plots.html_template``), so a plain
``dvc plots show`` renders without a network.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from repro.contract import curves, paths

PREFIX = "repro-"
ASSETS = Path(__file__).resolve().parents[1] / "assets" / "vega"
SCRIPTS = ("vega.min.js", "vega-lite.min.js", "vega-embed.min.js")
TEMPLATE_FILE = "plots.html"  # inside .dvc/


def definitions(specs: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The generated plot definitions for the compiled specs (name -> params entry)."""
    charts: dict[str, dict[str, Any]] = {}
    for name in sorted(specs):
        train = specs[name]["train"]
        log = str(paths.spec_dir(name) / paths.TRAIN_LOG)
        for column in curves.columns(train):
            pid, title = curves.chart(column, train["method"])
            chart = charts.setdefault(pid, {"title": title, "x": "step", "y": {},
                                            "y_label": curves.LABELS.get(column, column)})
            chart["y"][log] = column
    return [{pid: charts[pid]} for pid in sorted(charts)]


def merge(generated: list[dict[str, Any]], existing: Any) -> list[Any]:
    """The generated definitions, then the ones a person wrote (ids not ``repro-*``)."""
    kept = []
    for entry in existing if isinstance(existing, list) else []:
        ids = list(entry) if isinstance(entry, dict) else [entry]
        if not any(str(i).startswith(PREFIX) for i in ids):
            kept.append(entry)
    return [*generated, *kept]


def offline_template() -> str:
    """An HTML template for ``dvc plots show --html-template`` with no network access."""
    scripts = "\n".join(
        f"<script>\n{(ASSETS / f).read_text(encoding='utf-8')}\n</script>" for f in SCRIPTS
    )
    return (
        "<!DOCTYPE html>\n<html>\n<head>\n<meta charset=\"utf-8\">\n{refresh_tag}\n"
        "<title>DVC plots (repro, offline)</title>\n"
        "<!-- vega 5.20.2, vega-lite 5.2.0, vega-embed 6.18.2, inlined by repro; "
        "BSD-3-Clause, University of Washington Interactive Data Lab -->\n"
        f"{scripts}\n"
        "<style>table { border-spacing: 15px; } body { font-family: sans-serif; }</style>\n"
        "</head>\n<body>\n{plot_divs}\n</body>\n</html>\n"
    )


def write_offline_template(root: Path) -> list[str]:
    """``.dvc/plots.html`` and ``plots.html_template`` in ``.dvc/config`` (when this is a DVC
    repository and neither is there yet, or the template is out of date); the files written."""
    from repro.contract.fsio import write_text_atomic

    dvc_dir = root / ".dvc"
    if not dvc_dir.is_dir():
        return []
    written = []
    if write_text_atomic(dvc_dir / TEMPLATE_FILE, offline_template(), only_if_changed=True):
        written.append(f".dvc/{TEMPLATE_FILE}")
    config = dvc_dir / "config"
    text = config.read_text(encoding="utf-8") if config.is_file() else ""
    if "html_template" not in text:
        line = f"    html_template = {TEMPLATE_FILE}\n"
        if "[plots]\n" in text:
            text = text.replace("[plots]\n", "[plots]\n" + line, 1)
        else:
            text += ("" if not text or text.endswith("\n") else "\n") + "[plots]\n" + line
        write_text_atomic(config, text)
        written.append(".dvc/config")
    return written
