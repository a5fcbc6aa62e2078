"""``repro report`` and ``repro plots`` pages in a real headless Chromium, offline.

The workspace is hand-made (lineage records, metrics, step logs, gates and a study in the
shapes the stages and the other verbs write), so no model is trained here. Each page must
render, make no request off the machine, have charts that hold data, and have only links
that resolve (anchors to elements of the page, files to files that exist).
"""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import unquote, urlparse

from repro.cli import main
from tests.browser import launch, offline_page
from tests.conftest import TINY_PRETRAIN, TINY_SFT, make_workspace
from tests.repro.results.lineage_fixtures import variant, write_result

GATES = {"passed": False, "gates": [
    {"metric": "exact_match", "kind": "min", "value": 0.4, "threshold": 0.5, "reference": None,
     "reference_value": None, "passed": False, "message": "exact_match 0.4 < 0.5"},
    {"metric": "perplexity", "kind": "max_regression", "value": 2.1, "threshold": 0.1,
     "reference": "pre", "reference_value": 2.5, "passed": True, "message": "ok"}]}
STUDY = {"study": "pre-lr", "objectives": [{"metric": "perplexity", "direction": "minimize"}],
         "best_trial": 1, "trials": [
             {"number": 0, "state": "COMPLETE", "params": {"train.optimizer.lr": 0.001},
              "values": [3.5], "intermediate": {"10": 4.0, "20": 3.6}, "seed": 1,
              "duration_s": 2.0},
             {"number": 1, "state": "COMPLETE", "params": {"train.optimizer.lr": 0.003},
              "values": [2.4], "intermediate": {"10": 3.1, "20": 2.5}, "seed": 2,
              "duration_s": 2.0},
             {"number": 2, "state": "PRUNED", "params": {"train.optimizer.lr": 0.03},
              "values": None, "intermediate": {"10": 6.0}, "seed": 3, "duration_s": 0.5}]}


def workspace(tmp_path: Path) -> Path:
    ws = make_workspace(tmp_path, {"pre.yaml": TINY_PRETRAIN, "sft.yaml": TINY_SFT})
    write_result(ws, "pre")
    write_result(ws, "sft", variant(metrics={"perplexity": 2.1, "exact_match": 0.4,
                                             "n_examples": 20,
                                             "base": {"perplexity": 9.0, "exact_match": 0.0}}))
    (ws / "runs/pre/train_log.csv").write_text(
        "step,loss,lr\n" + "".join(f"{s},{6 - s / 10:.3f},0.003\n" for s in range(10, 50, 10)))
    (ws / "runs/sft/train_log.csv").write_text(
        "step,loss,lr,rewards/margins\n"
        + "".join(f"{s},{3 - s / 20:.3f},0.001,{s / 100}\n" for s in range(5, 25, 5)))
    (ws / "runs/sft/gates.json").write_text(json.dumps(GATES))
    (ws / "runs/pre/study.json").write_text(json.dumps(STUDY))
    return ws


def check_page(page, path: Path) -> dict:
    """Load ``path``; check it renders offline and its links resolve; its charts, by id."""
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(path.as_uri())
    assert page.title().startswith("repro")
    assert page.locator("h1").inner_text().startswith("repro")
    assert page.blocked == [] and errors == []  # nothing fetched off the machine, no errors
    links = page.eval_on_selector_all("a[href]", "els => els.map(e => e.getAttribute('href'))")
    for href in links:
        if href.startswith("#"):
            assert page.locator(f"[id='{href[1:]}']").count() == 1, href
        else:
            resolved = urlparse(page.evaluate("h => new URL(h, document.baseURI).href", href))
            assert resolved.scheme == "file" and Path(unquote(resolved.path)).is_file(), href
    charts = page.eval_on_selector_all("svg.chart", """els => els.map(e => ({
        id: e.id, points: +e.dataset.points,
        series: [...e.querySelectorAll('[data-series]')].map(s => +s.dataset.points),
        box: e.getBoundingClientRect().width}))""")
    for c in charts:
        assert c["box"] > 100, c  # laid out and visible
    return {c["id"]: c for c in charts}


def test_report_and_plots_render_offline_with_data_and_links(tmp_path, capsys):
    ws = workspace(tmp_path)
    assert main(["-C", str(ws), "report"]) == 0
    assert main(["-C", str(ws), "plots"]) == 0
    report, plots = ws / "runs/_report/index.html", ws / "runs/_plots/plots.html"
    capsys.readouterr()

    with launch() as browser:
        page = offline_page(browser)
        charts = check_page(page, report)
        # the results table: a row per spec and per trial, sft's gates failed
        rows = page.locator("#results-table tbody tr")
        assert rows.count() == 5
        assert "FAIL 1/2" in page.locator("#results-table").inner_text()
        assert "exact_match 0.4 < 0.5" in page.locator("#gates").inner_text()
        # curves overlaid: both specs on the loss chart, 4 logged steps each
        assert charts["curve-loss"]["series"] == [4, 4]
        assert charts["curve-rewards-margins"]["series"] == [4]
        assert charts["metric-exact-match"]["series"] == [1, 1]  # trained and base model
        assert charts["sweep-pre-trials"]["points"] == 3  # two complete, one pruned
        assert charts["sweep-pre-train-optimizer-lr"]["points"] == 2
        # a lineage summary per spec, down to the data
        lineage = page.locator("#spec-sft pre.lineage").inner_text()
        assert lineage.startswith("evaluate sft") and "data: arith-1234abcd" in lineage
        links = page.eval_on_selector_all("#spec-sft a", "els => els.map(e => e.textContent)")
        assert "gates.json" in links and "metrics.json" in links

        page = offline_page(browser)
        charts = check_page(page, plots)
        assert set(charts) == {
            "curve-loss", "curve-lr", "curve-rewards-margins", "metric-perplexity",
            "metric-exact-match", "sweep-pre-trials", "sweep-pre-curves",
            "sweep-pre-train-optimizer-lr"}
        assert all(c["points"] > 0 for c in charts.values())
    for chart in charts:
        png = ws / "runs/_plots" / f"{chart}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000
