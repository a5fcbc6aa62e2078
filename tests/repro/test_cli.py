"""CLI verbs that need no training: init, show, schema, help, exit codes."""

from __future__ import annotations

import json

from repro.cli import main


def test_init_creates_a_valid_workspace(tmp_path, capsys):
    ws = tmp_path / "new"
    assert main(["init", str(ws)]) == 0
    assert (ws / ".git").is_dir() and (ws / ".dvc").is_dir()
    assert (ws / "specs" / "starter.yaml").is_file()
    assert main(["-C", str(ws), "validate"]) == 0
    assert main(["-C", str(ws), "compile", "--check"]) == 0
    assert "/runs/" in (ws / ".gitignore").read_text()


def test_init_refuses_a_non_empty_folder(tmp_path, capsys):
    (tmp_path / "keep.txt").write_text("mine")
    assert main(["init", str(tmp_path)]) == 2
    assert "not empty" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt"]


def test_show_lists_specs_before_any_run(workspace, capsys):
    assert main(["-C", str(workspace), "show"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    # the metrics the specs ask for are columns before any result exists
    assert lines[0].split() == ["spec", "method", "base", "status", "perplexity", "exact_match"]
    assert any(line.startswith("pre ") and "not built" in line for line in lines)
    assert main(["-C", str(workspace), "show", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [d["spec"] for d in data] == ["pre", "sft"]
    assert data[1]["base"] == "spec pre" and data[1]["metrics"] is None
    assert data[1]["status"] == "not built" and data[1]["scores"] == {}


def test_schema_is_json_schema(capsys, tmp_path):
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["title"] == "repro spec v2"
    assert {"data", "model", "train", "extends"} <= set(schema["properties"])
    out = tmp_path / "s.json"
    assert main(["schema", "-o", str(out)]) == 0
    assert json.loads(out.read_text()) == schema


def test_run_outside_dvc_repo_is_a_user_error(workspace, capsys):
    assert main(["-C", str(workspace), "run"]) == 2
    assert "not a DVC repository" in capsys.readouterr().err
    assert not (workspace / "dvc.yaml").exists()


def test_empty_workspace_is_a_clear_user_error(tmp_path, capsys):
    (tmp_path / "specs").mkdir()
    for verb in ("validate", "compile", "show"):
        assert main(["-C", str(tmp_path), verb]) == 2
        assert "no specs in" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == [tmp_path / "specs"]


def test_summary_status_names_what_ran_failed_or_was_skipped(workspace):
    from repro.pipeline.compiler import compile_workspace
    from repro.pipeline.run import RunResult, status_for
    from repro.spec.workspace import load_workspace

    def _status_for(spec, graph, result):
        return status_for(spec, graph, result)[0]

    graph = compile_workspace(workspace, load_workspace(workspace)).graph
    failed = RunResult(ran=["train-pre"], failed=["evaluate-pre"], error="failed")
    assert _status_for("pre", graph, failed) == "FAILED evaluate"
    assert _status_for("sft", graph, failed) == "up to date"  # sft needs pre's model only
    broken_base = RunResult(failed=["train-pre"], error="failed")
    assert _status_for("sft", graph, broken_base) == "skipped (train-pre failed)"
    assert _status_for("sft", graph, RunResult(ran=["train-sft", "evaluate-sft"])) == \
        "ran train, evaluate"
    assert _status_for("pre", graph, RunResult()) == "up to date"
