"""DVC-native plots: every train-log curve declared, overlaid across specs, drawn offline."""

import json
import shutil
import subprocess
import sys

import pytest

from repro.contract import curves
from repro.pipeline.compiler import compile_workspace, write_compiled
from repro.pipeline.plots import definitions, merge
from repro.spec.workspace import load_workspace
from tests.conftest import make_workspace
from tests.specs import spec

DVC = [sys.executable, "-m", "dvc"]


def _log(columns, steps=(1, 2, 3), shift=0.0) -> str:
    rows = [",".join(["step", *columns])]
    for s in steps:
        rows.append(",".join([str(s), *(f"{1.0 / (s + i) + shift:.4f}" for i in range(len(columns)))]))
    return "\n".join(rows) + "\n"


@pytest.fixture
def ws(tmp_path):
    root = make_workspace(tmp_path / "ws", {
        "pre.yaml": spec("pretrain"),
        "pre-fast.yaml": spec("pretrain", {"train.optimizer.lr": 0.01}),
        "dpo.yaml": spec("dpo"),
    })
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    subprocess.run([*DVC, "init", "-q"], cwd=root, check=True)
    compiled = compile_workspace(root, load_workspace(root))
    written = write_compiled(root, compiled)
    assert ".dvc/plots.html" in written and ".dvc/config" in written
    return root, compiled


def test_every_curve_declared_and_overlaid(ws):
    root, compiled = ws
    import yaml

    dvc = yaml.safe_load(compiled.dvc_yaml)
    assert all("plots" not in s for s in dvc["stages"].values())  # no per-stage loss charts
    plots = {k: v for entry in dvc["plots"] for k, v in entry.items()}
    assert plots["repro-lm-loss"]["y"] == {"runs/pre/train_log.csv": "loss",
                                           "runs/pre-fast/train_log.csv": "loss"}
    assert set(plots["repro-lr"]["y"]) == {f"runs/{n}/train_log.csv" for n in ("pre", "pre-fast", "dpo")}
    assert plots["repro-dpo-margin"]["y"] == {"runs/dpo/train_log.csv": "margin"}
    assert "repro-dpo-accuracy" in plots and "repro-lm-val_loss" not in plots
    # every train stage still lists its log as an output
    assert "runs/dpo/train_log.csv" in dvc["stages"]["train-dpo"]["outs"]

    # DVC itself reads every chart, one line per spec
    for name, train in compiled.graph.specs.items():
        log = root / "runs" / name / "train_log.csv"
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text(_log(curves.columns(train["train"])), encoding="utf-8")
    out = subprocess.run([*DVC, "plots", "show", "--json"], cwd=root, capture_output=True,
                         text=True, check=True)
    shown = json.loads(out.stdout)
    assert not shown.get("errors")
    for pid, definition in plots.items():
        datapoints = shown["data"][pid][0]["content"]["data"]["values"]
        column = next(iter(definition["y"].values()))
        assert len(datapoints) == 3 * len(definition["y"]), pid  # 3 steps per spec
        assert all(column in d for d in datapoints), pid
        if len(definition["y"]) > 1:  # one line per spec, named by its file
            assert len({d["filename"] for d in datapoints}) == len(definition["y"]), pid


def test_validation_loss_is_plotted_when_the_log_has_it():
    train = {"method": "sft", "eval_every": 10}
    assert curves.columns(train) == ("loss", "lr", "val_loss")
    got = definitions({"a": {"train": train}, "b": {"train": {"method": "pretrain"}}})
    ids = {k: v for d in got for k, v in d.items()}
    assert ids["repro-lm-val_loss"]["y"] == {"runs/a/train_log.csv": "val_loss"}
    assert set(ids["repro-lm-loss"]["y"]) == {"runs/a/train_log.csv", "runs/b/train_log.csv"}


def test_plots_of_your_own_are_kept():
    mine = {"my-chart": {"x": "step", "y": {"mine.csv": "acc"}}}
    stale = {"repro-lm-loss": {"y": {"runs/gone/train_log.csv": "loss"}}}
    generated = definitions({"a": {"train": {"method": "pretrain"}}})
    assert merge(generated, [stale, mine]) == [*generated, mine]


def test_plots_page_renders_offline(ws, tmp_path):
    root, compiled = ws
    for name, train in compiled.graph.specs.items():
        log = root / "runs" / name / "train_log.csv"
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text(_log(curves.columns(train["train"])), encoding="utf-8")
    subprocess.run([*DVC, "plots", "show", "-o", "page"], cwd=root, check=True,
                   capture_output=True)
    html = (root / "page/index.html").read_text(encoding="utf-8")
    assert "cdn.jsdelivr" not in html and "<script src=" not in html
    charts = len([k for d in yaml_plots(compiled) for k in d])
    assert html.count("vegaEmbed('#") == charts
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium, "chromium is needed (apt-get install chromium)"
    dom = subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu",
         "--host-resolver-rules=MAP * ~NOTFOUND",  # no network at all
         "--virtual-time-budget=10000", f"--user-data-dir={tmp_path / 'chrome'}",
         "--dump-dom", (root / "page/index.html").as_uri()],
        capture_output=True, text=True, timeout=120,
    ).stdout
    # vega-embed drew every chart (a canvas each) from the inlined scripts
    assert dom.count("<canvas") == charts
    assert dom.count('class="vega-embed') == charts


def yaml_plots(compiled):
    import yaml

    return yaml.safe_load(compiled.dvc_yaml)["plots"]


def test_dvc_config_keeps_its_plots_section(tmp_path):
    from repro.pipeline.plots import write_offline_template

    (tmp_path / ".dvc").mkdir()
    (tmp_path / ".dvc/config").write_text("[core]\n    analytics = false\n[plots]\n"
                                          "    auto_open = false\n", encoding="utf-8")
    assert write_offline_template(tmp_path) == [".dvc/plots.html", ".dvc/config"]
    text = (tmp_path / ".dvc/config").read_text()
    assert text.count("[plots]") == 1 and "html_template = plots.html" in text
    assert write_offline_template(tmp_path) == []
