"""repro.contract.git: the one git identity (commit, dirty flag, diff hash; dvc.lock aside)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from repro.contract.git import diff_sha256, git_info, uncommitted_diff

ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
       "GIT_COMMITTER_EMAIL": "t@t", "PATH": "/usr/bin:/bin"}


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, env=ENV, capture_output=True, check=True)


def test_outside_a_repository_everything_is_none(tmp_path):
    assert git_info(tmp_path) == {"commit": None, "dirty": None, "diff_sha256": None}


def test_commit_dirty_flag_and_diff_hash_leave_dvc_lock_out(tmp_path):
    (tmp_path / "a.py").write_text("x = 1\n")
    (tmp_path / "dvc.lock").write_text("stages: {}\n")
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", "-A")
    _git(tmp_path, "commit", "-qm", "one")
    clean = git_info(tmp_path)
    assert len(clean["commit"]) == 40 and clean["dirty"] is False and clean["diff_sha256"] is None
    (tmp_path / "dvc.lock").write_text("stages: {a: 1}\n")  # the pipeline's own bookkeeping
    assert git_info(tmp_path) == clean
    (tmp_path / "a.py").write_text("x = 2\n")
    dirty = git_info(tmp_path)
    assert dirty["dirty"] is True and dirty["commit"] == clean["commit"]
    assert dirty["diff_sha256"] == diff_sha256(uncommitted_diff(tmp_path))
    assert "dvc.lock" not in uncommitted_diff(tmp_path, binary=True)
