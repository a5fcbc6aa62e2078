"""The blind sheet in a real browser: open it offline, judge with the keyboard, save, import, score.

Two annotators judge a 3-spec sheet in headless Chromium (tests/browser.py), picking the
answer that equals the reference; their saved files go through ``repro human import``, the
compiler adds the scoring stage, and the stage's numbers follow from what was pressed.
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from repro.cli import main
from tests.browser import browser_page
from tests.repro.human.sheets import SYSTEMS, make_workspace


def judge_all(page, annotator: str, flip_first: bool = False) -> None:
    """Judge every item from the keyboard: the side equal to the reference wins."""
    page.fill("#annotator", annotator)
    page.press("#annotator", "Enter")  # leaves the field: keys now judge
    n = len(json.loads(page.text_content("#sheet-data"))["items"])
    for k in range(n):
        ref, a, b = (page.text_content(s) for s in ("#reference", "#a", "#b"))
        key = {(True, False): "a", (False, True): "ArrowRight", (True, True): "t",
               (False, False): "4"}[(a == ref, b == ref)]
        if flip_first and k == 0:
            key = "t" if key != "t" else "a"
        page.keyboard.press(key)
    assert page.text_content("#progress") == f"{n} of {n} judged"


def save(page, to: Path) -> Path:
    with page.expect_download() as dl:
        page.keyboard.press("s")
    download = dl.value
    assert download.suggested_filename == f"judgments-{to.stem.split('-', 1)[1]}.json"
    download.save_as(str(to))
    return to


def test_sheet_round_trip_in_chromium(tmp_path: Path, capsys):
    root = make_workspace(tmp_path / "ws")
    sheet = root / "human" / "abc"
    html, table = (sheet / "sheet.html").read_text(), (sheet / "sheet.csv").read_text()
    for name in SYSTEMS:  # blind: no spec name in what annotators see
        assert name not in html and name not in table
    key = json.loads((sheet / "key.json").read_text())
    assert len(key["items"]) == 12 and {i["A"] for i in key["items"]} == set(SYSTEMS)

    saved = []
    for annotator, flip in (("ann1", False), ("ann2", True)):
        with browser_page() as page:
            page.goto((sheet / "sheet.html").resolve().as_uri())
            assert page.text_content("#position") == "item 1 / 12"
            page.keyboard.press("n")
            assert page.text_content("#position") == "item 2 / 12"
            page.keyboard.press("p")
            page.keyboard.press("s")  # no annotator yet: a message, no download
            assert "Annotator" in page.text_content("#status")
            judge_all(page, annotator, flip_first=flip)
            saved.append(save(page, tmp_path / f"judgments-{annotator}.json"))
            assert page.blocked == [] and page.errors == []  # offline, no script errors

    assert main(["-C", str(root), "human", "import", "sft-a", *map(str, saved)]) == 0
    assert "imported 12 of 12 items judged by ann1" in capsys.readouterr().out
    assert sorted(p.name for p in (sheet / "judgments").iterdir()) == ["ann1.json", "ann2.json"]

    assert main(["-C", str(root), "compile"]) == 0
    stage = yaml.safe_load((root / "dvc.yaml").read_text())["stages"]["human-eval-sft-a"]
    assert {"human/abc/key.json", "human/abc/judgments"} <= set(stage["deps"])
    assert stage["metrics"] == ["runs/sft-a/human_eval.json"]

    from runners.human_eval import human_eval

    params = yaml.safe_load((root / "params.yaml").read_text())
    m = human_eval(params["specs"]["sft-a"], "sft-a", root)
    assert m == json.loads((root / "runs/sft-a/human_eval.json").read_text())
    assert m["n_judgments"] == 24 and m["annotators"] == ["ann1", "ann2"]
    ab = m["pairs"]["sft-a_vs_sft-b"]
    # per annotator: a beats b on the two prompts b gets wrong, ties on the other two;
    # ann2 flipped the first item it saw
    assert ab["n"] == 8 and ab["wins"] + ab["ties"] + ab["losses"] == 8
    assert m["pairs"]["sft-a_vs_sft-c"]["win_rate"] == 1.0
    bt = m["bradley_terry"]["systems"]
    assert bt["sft-a"]["strength"] > bt["sft-b"]["strength"] > bt["sft-c"]["strength"]
    agree = m["agreement"]
    assert agree["method"] == "cohen" and agree["n_items"] == 12 and agree["kappa"] < 1
    assert agree["observed"] == round(11 / 12, 6)
    lineage = json.loads((root / "runs/sft-a/human_eval.lineage.json").read_text())
    assert lineage["stage"] == "human_eval"
    assert [j["path"] for j in lineage["inputs"]["judgments"]] == [
        "human/abc/judgments/ann1.json", "human/abc/judgments/ann2.json"]
