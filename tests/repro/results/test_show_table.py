"""``repro show``'s table on hand-made results: trials, gates, --where, --sort, --columns,
CSV, Markdown, fitting the terminal, failed stages; and ``first_difference``."""

from __future__ import annotations

import csv
import io
import json

import pytest

from repro.cli import main
from repro.results.staleness import first_difference, record_run
from tests.repro.results.test_report import workspace


def show(ws, capsys, *args: str) -> str:
    capsys.readouterr()
    code = main(["-C", str(ws), "show", *args])
    out = capsys.readouterr()
    assert code == 0, out.err
    return out.out


def test_rows_for_specs_and_trials_with_gates(tmp_path, capsys):
    ws = workspace(tmp_path)
    rows = json.loads(show(ws, capsys, "--json"))
    assert [r["spec"] for r in rows] == ["pre", "pre#0", "pre#1", "pre#2", "sft"]
    pre, best, pruned, sft = rows[0], rows[2], rows[3], rows[4]
    # no dvc.lock: the results are on disk, but DVC never recorded a build of them
    assert pre["status"] == "not built" and pre["scores"] == {"perplexity": 2.5}
    assert best["status"] == "complete (best)" and best["scores"] == {"perplexity": 2.4}
    assert best["params"] == {"train.optimizer.lr": 0.003} and best["parent"] == "pre"
    assert pruned["status"] == "pruned" and pruned["scores"] == {}
    assert sft["gates"]["passed"] is False and sft["gates"]["failed"] == ["exact_match 0.4 < 0.5"]
    assert sft["base_metrics"] == {"perplexity": 9.0, "exact_match": 0.0}

    text = show(ws, capsys).splitlines()
    assert text[0].split() == ["spec", "method", "base", "status", "perplexity", "exact_match",
                               "loss", "base", "score", "gates", "params"]
    sft_line = next(line for line in text if line.startswith("sft "))
    assert sft_line.split()[:8] == ["sft", "sft", "(full)", "spec", "pre", "not", "built", "2.1"]
    assert sft_line.split()[8:] == ["0.4", "1", "em", "0", "FAIL", "1/2", "-"]  # no params
    assert len(json.loads(show(ws, capsys, "--json", "--no-trials"))) == 2


def test_where_sort_columns(tmp_path, capsys):
    ws = workspace(tmp_path)
    out = show(ws, capsys, "--where", "perplexity<3", "--sort", "perplexity",
               "--columns", "spec,perplexity,status")
    lines = out.splitlines()
    assert lines[0].split() == ["spec", "perplexity", "status"]
    assert [line.split()[0] for line in lines[2:]] == ["sft", "pre#1", "pre"]
    out = show(ws, capsys, "--where", "status=complete", "--sort", "perplexity", "--reverse",
               "--columns", "spec")
    assert out.split()[2:] == ["pre#0", "pre#1"]
    assert show(ws, capsys, "--where", "method~sft", "--columns", "spec").split()[2:] == ["sft"]
    assert show(ws, capsys, "--where", "gates=FAIL 1/2", "--columns", "spec").split()[2:] == [
        "sft"]


@pytest.mark.parametrize("args, message", [
    (["--where", "nope>1"], "no column 'nope'"),
    (["--where", "perplexity>high"], "> needs a number"),
    (["--where", "perplexity"], "expected COLUMN OP VALUE"),
    (["--columns", "spec,bogus"], "--columns: no column 'bogus'"),
    (["--sort", "bogus"], "no column 'bogus'"),
])
def test_bad_options_are_usage_errors(tmp_path, capsys, args, message):
    ws = workspace(tmp_path)
    assert main(["-C", str(ws), "show", *args]) == 2
    assert message in capsys.readouterr().err


def test_csv_and_markdown(tmp_path, capsys):
    ws = workspace(tmp_path)
    got = list(csv.DictReader(io.StringIO(show(ws, capsys, "--csv"))))
    assert [r["spec"] for r in got] == ["pre", "pre#0", "pre#1", "pre#2", "sft"]
    assert got[4]["exact_match"] == "0.4" and got[4]["gates"] == "FAIL 1/2"
    assert got[0]["status"] == "not built" and got[0]["why"] == ""
    md = show(ws, capsys, "--md", "--no-trials").splitlines()
    assert md[0] == ("| spec | method | base | status | perplexity | exact_match | loss "
                     "| base score | gates |")
    assert md[1] == "|---|---|---|---|---:|---:|---:|---|---|"
    assert md[3].startswith("| sft | sft (full) | spec pre | not built | 2.1 | 0.4 | 1 |")


def test_fits_the_terminal_width(tmp_path, capsys, monkeypatch):
    ws = workspace(tmp_path)
    wide = show(ws, capsys).splitlines()
    monkeypatch.setenv("COLUMNS", "60")
    narrow = show(ws, capsys).splitlines()
    assert max(map(len, wide)) > 60 >= max(map(len, narrow))
    assert narrow[0].split()[:2] == ["spec", "status"] and "perplexity" in narrow[0]


def test_failed_stage_and_first_difference(tmp_path, capsys):
    ws = workspace(tmp_path)
    record_run(ws, ran=["prepare-x"], failed=["train-sft"])
    rows = {r["spec"]: r for r in json.loads(show(ws, capsys, "--json", "--no-trials"))}
    assert rows["sft"]["status"] == "failed" and rows["pre"]["status"] == "not built"
    record_run(ws, ran=["train-sft"], failed=[])
    assert json.loads((ws / ".repro/last-run.json").read_text())["stages"] == {
        "prepare-x": "ran", "train-sft": "ran"}

    assert first_difference("k", {"a": 1, "b": {"c": 2}}, {"a": 1, "b": {"c": 2}}) is None
    assert first_difference("k", {"a": 1, "b": {"c": 2}}, {"a": 1, "b": {"c": 3}}) == \
        "k.b.c 2 -> 3"
    assert first_difference("k", {"a": 1}, {"a": 1, "z": [1]}) == "k.z (none) -> [1]"
