"""``repro human import``: good files land in judgments/; each bad file gets a clear error, exit 2,
and nothing is written. ``repro human export`` writes a blind, seeded sheet."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from repro.cli import main
from repro.human.sheet import build
from tests.repro.human.sheets import MODELS, OUTPUTS, PROMPTS, make_workspace


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    return make_workspace(tmp_path / "ws")


def sheet_id(ws: Path) -> str:
    return json.loads((ws / "human/abc/key.json").read_text())["sheet_id"]


def judgments_text(sid: str, rows: list[str], annotator: str = "ann1") -> str:
    body = ",\n".join(f"    {r}" for r in rows)
    return ('{\n  "human_judgments_version": 1,\n  "sheet_id": "' + sid + '",\n'
            f'  "annotator": "{annotator}",\n  "judgments": [\n{body}\n  ]\n}}\n')


def run_import(ws: Path, capsys, *args: str) -> tuple[int, str, str]:
    rc = main(["-C", str(ws), "human", "import", "sft-a", *args])
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_good_json_and_csv(ws: Path, capsys):
    sid = sheet_id(ws)
    f = ws / "a.json"
    f.write_text(judgments_text(sid, ['{"item": 2, "verdict": "B"}', '{"item": 1, "verdict": "A"}']))
    rc, out, err = run_import(ws, capsys, str(f))
    assert rc == 0, err
    assert "imported 2 of 12 items judged by ann1" in out
    saved = json.loads((ws / "human/abc/judgments/ann1.json").read_text())
    assert saved["judgments"] == [{"item": 1, "verdict": "A"}, {"item": 2, "verdict": "B"}]
    # the filled-in CSV: case-insensitive verdicts, 'both bad' with a space, blanks skipped
    lines = (ws / "human/abc/sheet.csv").read_text().splitlines()
    filled = [lines[0]] + [line[:-1] + v + "," for line, v in
                           zip(lines[1:4], ["a", "Both bad", ""], strict=True)]
    (ws / "b.csv").write_text("\n".join(filled) + "\n")
    rc, out, err = run_import(ws, capsys, str(ws / "b.csv"), "--annotator", "ann2", "--json")
    assert rc == 0, err
    assert json.loads(out)[0]["judgments"] == 2
    saved = json.loads((ws / "human/abc/judgments/ann2.json").read_text())
    assert [j["verdict"] for j in saved["judgments"]] == ["A", "both_bad"]
    # the same annotator again: refused without --replace
    rc, _, err = run_import(ws, capsys, str(f))
    assert rc == 2 and "ann1.json already exists; pass --replace" in err


BAD_JSON = [
    (['{"item": 1, "verdict": "C"}'], "a.json:6:28: judgments[0].verdict: must be one of A, B, "
     "tie, both_bad (got 'C')"),
    (['{"item": 1, "verdict": "tei"}'], "(did you mean 'tie'?)"),
    (['{"item": 13, "verdict": "A"}'], "a.json:6:14: judgments[0].item: no item 13 on this "
     "sheet (items 1 to 12)"),
    (['{"item": 1, "verdict": "A"}', '{"item": 1, "verdict": "B"}'],
     "a.json:7:14: judgments[1].item: item 1 is judged twice in this file (first at "
     "judgments[0]) (keep one verdict per item)"),
    (['{"item": 1, "verdit": "A"}'], "judgments[0].verdit: unknown field (did you mean "
     "'verdict'?)"),
    ([], "a.json:5:16: judgments: no judgments in the file (judge at least one item)"),
]


@pytest.mark.parametrize(("rows", "message"), BAD_JSON)
def test_bad_json_files(ws: Path, capsys, rows, message):
    f = ws / "a.json"
    f.write_text(judgments_text(sheet_id(ws), rows))
    good = ws / "good.json"  # a good file named alongside: not written either
    good.write_text(judgments_text(sheet_id(ws), ['{"item": 3, "verdict": "tie"}'], "ann9"))
    rc, _, err = run_import(ws, capsys, str(good), str(f))
    assert rc == 2
    assert message in err, err
    assert "Traceback" not in err
    assert not (ws / "human/abc/judgments").exists()


def test_bad_top_level(ws: Path, capsys):
    f = ws / "a.json"
    f.write_text(judgments_text("0123456789ab", ['{"item": 1, "verdict": "A"}'], "no one"))
    rc, _, err = run_import(ws, capsys, str(f))
    assert rc == 2
    lines = err.splitlines()
    assert "a.json:3:15: sheet_id: these judgments are for sheet '0123456789ab', not this " \
        "one" in lines[0]
    assert "a.json:4:16: annotator: must be a name of letters" in lines[1]
    f.write_text('{"sheet_id": 1,,}')
    rc, _, err = run_import(ws, capsys, str(f))
    assert rc == 2 and "a.json:1:16: not JSON: Expecting property name" in err
    f.write_text("[1, 2]")
    rc, _, err = run_import(ws, capsys, str(f))
    assert rc == 2 and "a.json:1:1: must be a JSON object, not list" in err
    rc, _, err = run_import(ws, capsys, str(ws / "missing.json"))
    assert rc == 2 and "missing.json: file not found" in err


def test_bad_csv_files(ws: Path, capsys):
    lines = (ws / "human/abc/sheet.csv").read_text().splitlines()
    f = ws / "b.csv"
    f.write_text("\n".join([lines[0], lines[1][:-1] + "better,"]) + "\n")
    rc, _, err = run_import(ws, capsys, str(f), "--annotator", "ann2")
    assert rc == 2 and "b.csv:2:7: verdict: must be one of A, B, tie, both_bad (got 'better')" in err
    f.write_text("\n".join(lines) + "\n")
    rc, _, err = run_import(ws, capsys, str(f), "--annotator", "ann2")
    assert rc == 2 and "b.csv: no verdicts filled in" in err
    f.write_text("\n".join([lines[0], lines[1][:-1] + "tie,"]) + "\n")
    rc, _, err = run_import(ws, capsys, str(f))
    assert rc == 2 and "b.csv:2:8: annotator: no annotator for this verdict (fill in the " \
        "annotator column, or pass --annotator NAME)" in err
    f.write_text("item,verdict\n1,A\n")
    rc, _, err = run_import(ws, capsys, str(f), "--annotator", "ann2")
    assert rc == 2 and "b.csv:1:1: missing column(s): sheet_id" in err
    assert not (ws / "human/abc/judgments").exists()


def test_sheet_is_seeded_and_blind():
    one = build("sft-a", 3, "test", PROMPTS, OUTPUTS, MODELS)
    assert one.html == build("sft-a", 3, "test", PROMPTS, OUTPUTS, MODELS).html
    other = build("sft-a", 4, "test", PROMPTS, OUTPUTS, MODELS)
    assert [i.A for i in one.key.items] != [i.A for i in other.key.items]
    assert one.key.sheet_id != other.key.sheet_id
    # every prompt meets every pair once; each spec shows up on both sides
    seen = sorted((i.prompt, *sorted((i.A, i.B))) for i in one.key.items)
    assert len(set(seen)) == 12
    assert {i.A for i in one.key.items} == {i.B for i in one.key.items} == set(OUTPUTS)
    for name in OUTPUTS:
        assert name not in one.html and name not in one.csv
    assert "http" not in one.html.replace("http-equiv", "")  # nothing to fetch


def test_export_writes_the_sheet_and_guards_judged_sheets(ws: Path, capsys, monkeypatch):
    import repro.pipeline.run as run

    answers = {"prompts": PROMPTS, "outputs": OUTPUTS, "models": MODELS}
    monkeypatch.setattr(run, "run_runner", lambda *a, **k: answers)
    rc = main(["-C", str(ws), "human", "export", "sft-a"])
    err = capsys.readouterr().err
    assert rc == 2 and "no trained model for pre" not in err
    assert "no trained model for sft-a, sft-b, sft-c: run 'repro run sft-a sft-b sft-c'" in err
    for s in OUTPUTS:
        (ws / "runs" / s / "model").mkdir(parents=True)
    assert main(["-C", str(ws), "human", "export", "sft-a", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["items"] == 12 and info["systems"] == ["sft-a", "sft-b", "sft-c"]
    (ws / "human/abc/judgments").mkdir()
    (ws / "human/abc/judgments/ann1.json").write_text("{}")
    answers["outputs"] = {**OUTPUTS, "sft-c": ["!!"] * 4}  # the models changed
    rc = main(["-C", str(ws), "human", "export", "sft-a"])
    assert rc == 2 and "holds 1 judgments file(s) of sheet" in capsys.readouterr().err
    assert main(["-C", str(ws), "human", "export", "sft-b"]) == 2
    assert "spec 'sft-b' has no human_eval section" in capsys.readouterr().err


def test_synthetic_annotators_script(ws: Path, tmp_path: Path, capsys):
    import subprocess
    import sys

    script = Path(__file__).resolve().parents[3] / "scripts/synthetic_judgments.py"
    subprocess.run([sys.executable, str(script), str(ws / "human/abc"), str(tmp_path / "out")],
                   check=True)
    files = sorted(map(str, (tmp_path / "out").glob("*.json")))
    rc, out, err = run_import(ws, capsys, *files)
    assert rc == 0, err
    key = json.loads((ws / "human/abc/key.json").read_text())
    exact = json.loads((ws / "human/abc/judgments/script-exact.json").read_text())
    for j, item in zip(exact["judgments"], key["items"], strict=True):
        right = {s: OUTPUTS[s][item["prompt"]] == PROMPTS[item["prompt"]]["reference"]
                 for s in (item["A"], item["B"])}
        want = {(True, False): "A", (False, True): "B", (True, True): "tie"}.get(
            (right[item["A"]], right[item["B"]]), "both_bad")
        assert j["verdict"] == want
