"""`repro show --data`: prepared data sets read back from their data cards."""

from __future__ import annotations

import json
from pathlib import Path

from repro.cli import main
from repro.pipeline.compiler import compile_workspace
from repro.spec.workspace import load_workspace

RAW = "blake3:" + "ab" * 32


def card(key: str) -> dict:
    """A data card as the prepare stage writes it (docs/runner-contract.md, card_version 1)."""
    return {
        "card_version": 1, "key": key, "format": "instruction",
        "source": {"kind": "builtin", "origin": "builtin:arithmetic", "raw_hash": RAW,
                   "files": []},
        "pinned": None, "cache_key": "blake3:" + "cd" * 32, "split_method": "random",
        "steps": [
            {"step": "loaded", "rows": 300},
            {"step": "normalize", "rows": 300, "changed": 4},
            {"step": "invalid", "rows": 298, "dropped": 2,
             "samples": ['{"instruction": "", "output": "7"}', '{"instruction": " ", "output": ""}']},
            {"step": "dedupe_exact", "rows": 290, "dropped": 8, "samples": ['{"instruction": "1+1"}']},
            {"step": "split", "rows": 290},
        ],
        "splits": {"train": 232, "validation": 29, "test": 29},
        "tokens": {
            "train": {"examples": 232, "total": 3712, "min": 9, "max": 17, "mean": 16.0,
                      "p50": 16, "p95": 17,
                      "histogram": [{"upto": 8, "count": 0}, {"upto": 16, "count": 200},
                                    {"upto": 32, "count": 32}]},
            "validation": {"examples": 29, "total": 464, "min": 10, "max": 17, "mean": 16.0,
                           "p50": 16, "p95": 17, "histogram": []},
        },
        "tokenizer": {"source": "data", "ref": "runs/pre/model", "vocab_size": 300,
                      "chat_template": False},
    }


def keys(ws: Path) -> dict[str, str]:
    return compile_workspace(ws, load_workspace(ws)).graph.spec_data


def write_card(ws: Path, key: str) -> dict:
    c = card(key)
    d = ws / "runs" / "_data" / key
    d.mkdir(parents=True)
    (d / "card.json").write_text(json.dumps(c))
    return c


def test_overview_lists_prepared_and_unprepared_data_sets(workspace, capsys):
    k = keys(workspace)
    write_card(workspace, k["sft"])
    assert main(["-C", str(workspace), "show", "--data"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].split()[:4] == ["data", "set", "format", "source"]
    (sft_line,) = [line for line in lines if line.startswith(k["sft"])]
    assert "instruction" in sft_line and "builtin:arithmetic" in sft_line
    assert "blake3:abababababab" in sft_line
    assert "300 -> 232/29/29" in sft_line and "4,176" in sft_line and sft_line.endswith("sft")
    (pre_line,) = [line for line in lines if line.startswith(k["pre"])]
    assert "not prepared yet" in pre_line and pre_line.endswith("pre")


def test_one_data_set_in_detail(workspace, capsys):
    k = keys(workspace)
    write_card(workspace, k["sft"])
    for arg in ("sft", k["sft"]):  # by spec or by key
        assert main(["-C", str(workspace), "show", "--data", arg]) == 0
        out = capsys.readouterr().out
        assert f"data set   {k['sft']}" in out and "used by    sft" in out
        assert f"raw hash   {RAW}  (pin: not pinned)" in out
        assert "tokenizer  data runs/pre/model (vocab 300)" in out
        steps = out[out.index("cleaning and splitting:"):].splitlines()
        assert steps[1].split() == ["step", "rows", "dropped", "note"]
        assert steps[3].split() == ["loaded", "300"]
        assert steps[4].split() == ["normalize", "300", "4", "changed"]
        assert steps[6].split() == ["dedupe_exact", "290", "8"]
        hist = out[out.index("token length histogram (train):"):].splitlines()[1:4]
        assert [line.split()[1:3] for line in hist] == [["8", "0"], ["16", "200"], ["32", "32"]]
        bars = [line.split()[3] if len(line.split()) > 3 else "" for line in hist]
        assert [len(b) for b in bars] == [0, 40, 6]  # scaled to the largest bucket
        assert "splits: train 232, validation 29, test 29 (random)" in out
        assert "dedupe_exact (8 dropped):" in out and '{"instruction": "1+1"}' in out


def test_json_prints_the_cards(workspace, capsys):
    k = keys(workspace)
    c = write_card(workspace, k["sft"])
    assert main(["-C", str(workspace), "--json", "show", "--data"]) == 0
    rows = {r["key"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows[k["sft"]]["card"] == c and rows[k["sft"]]["specs"] == ["sft"]
    assert rows[k["pre"]] == {"key": k["pre"], "specs": ["pre"], "prepared": False, "card": None}
    assert main(["-C", str(workspace), "show", "--data", "--json", "sft"]) == 0
    assert json.loads(capsys.readouterr().out)["card"] == c


def test_a_data_set_not_prepared_yet_says_so(workspace, capsys):
    assert main(["-C", str(workspace), "show", "--data", "pre"]) == 0
    out = capsys.readouterr().out
    assert f"data set {keys(workspace)['pre']} is not prepared yet" in out
    assert "'repro run pre' prepares it" in out


def test_an_unknown_data_set_is_a_user_error(workspace, capsys):
    assert main(["-C", str(workspace), "show", "--data", "sfx"]) == 2
    err = capsys.readouterr().err
    assert "no data set or spec named 'sfx'" in err and "did you mean 'sft'" in err
