"""The scratch copy `repro verify` rebuilds in: the recorded commit, plus the recorded
uncommitted diff only when this workspace still has exactly that diff. (The rebuild itself
is covered end to end in test_lineage_end_to_end.py.)"""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

import pytest

from repro.cli import main
from repro.errors import ReproError
from repro.results.verify import make_scratch
from tests.repro.results.lineage_fixtures import write_result

ENV = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t",
       "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, env=ENV, capture_output=True, text=True,
                          check=True).stdout


@pytest.fixture
def repo(tmp_path) -> tuple[Path, str]:
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "a.txt").write_text("one\n")
    (ws / "dvc.lock").write_text("x\n")
    git(ws, "init", "-q")
    git(ws, "add", "-A")
    git(ws, "commit", "-qm", "c")
    return ws, git(ws, "rev-parse", "HEAD").strip()


def _diff_hash(ws: Path) -> str:
    diff = git(ws, "diff", "HEAD", "--", ".", ":(exclude)dvc.lock")
    return hashlib.sha256(diff.encode()).hexdigest()


def test_scratch_is_the_recorded_commit(repo, tmp_path):
    ws, commit = repo
    (ws / "a.txt").write_text("changed later\n")
    out = tmp_path / "s1"
    out.mkdir()
    scratch = make_scratch(ws, commit, False, None, out, [])
    assert (scratch / "a.txt").read_text() == "one\n"


def test_a_dirty_build_gets_its_diff_back_only_if_it_matches(repo, tmp_path):
    ws, commit = repo
    (ws / "a.txt").write_text("two\n")
    (ws / "dvc.lock").write_text("rewritten by the pipeline: not part of the diff\n")
    recorded = _diff_hash(ws)
    notes: list[str] = []
    (tmp_path / "s1").mkdir()
    scratch = make_scratch(ws, commit, True, recorded, tmp_path / "s1", notes)
    assert (scratch / "a.txt").read_text() == "two\n" and notes
    (ws / "a.txt").write_text("three\n")  # the workspace moved on since the build
    (tmp_path / "s2").mkdir()
    with pytest.raises(ReproError, match="uncommitted changes that this workspace no longer has"):
        make_scratch(ws, commit, True, recorded, tmp_path / "s2", [])


def test_verify_needs_records(tmp_path, capsys):
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs/s.yaml").write_text("seed: 1\n")
    (tmp_path / "params.yaml").write_text("specs: {s: {seed: 1, data: d}}\ndatasets: {}\n")
    assert main(["-C", str(tmp_path), "verify", "s"]) == 2
    assert "no lineage records" in capsys.readouterr().err
    write_result(tmp_path)  # records, but no git repository to rebuild from
    assert main(["-C", str(tmp_path), "verify", "s"]) == 2
    err = capsys.readouterr().err
    assert "cannot clone" in err or "not a git repository" in err
