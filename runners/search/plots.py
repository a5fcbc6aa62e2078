"""A study's plots, offline: optimization history, parameter importances, parallel
coordinates and intermediate values, in one self-contained HTML page (plotly.js inlined
once) and one PNG each (matplotlib)."""

from __future__ import annotations

from pathlib import Path

PLOTS = ("optimization_history", "param_importances", "parallel_coordinate",
         "intermediate_values")


def write_plots(study, out: Path) -> list[Path]:
    """Write each plot that applies to ``study`` (importances need 2+ complete trials and
    2+ params, intermediate values need some); return the files written."""
    import warnings

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from optuna import visualization as vis
    from optuna.visualization import matplotlib as vmpl

    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    parts: list[str] = []
    multi = len(study.directions) > 1
    for name in PLOTS:
        if multi and name != "parallel_coordinate":
            continue
        kwargs = {"target": lambda t: t.values[0], "target_name": "objective 0"} if multi else {}
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fig = getattr(vis, f"plot_{name}")(study, **kwargs)
                parts.append(f"<h2>{name.replace('_', ' ')}</h2>" + fig.to_html(
                    full_html=False, include_plotlyjs=not parts))
                ax = getattr(vmpl, f"plot_{name}")(study, **kwargs)
                figure = ax.figure if hasattr(ax, "figure") else ax.flat[0].figure
                png = out / f"{name}.png"
                figure.savefig(png, dpi=80, bbox_inches="tight")
                plt.close("all")
                written.append(png)
        except (ValueError, RuntimeError, ZeroDivisionError):
            plt.close("all")  # a plot that does not apply to this study (too few trials)
    if parts:
        html = out / "plots.html"
        html.write_text(f"<html><head><meta charset='utf-8'><title>{study.study_name}</title>"
                        f"</head><body>{''.join(parts)}</body></html>\n", encoding="utf-8")
        written.insert(0, html)
    return written
