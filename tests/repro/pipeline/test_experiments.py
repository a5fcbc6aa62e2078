"""DVC experiments that cooperate: the ``dvc exp run -S`` guard and spec edits by ``--set``."""

from __future__ import annotations

import sys

import pytest

from repro.errors import ReproError
from repro.pipeline.experiments import guard, set_fields
from tests.conftest import make_workspace
from tests.repro.pipeline.test_end_to_end import sh
from tests.specs import spec

TINY = {"train.max_steps": 4, "evaluate.max_examples": 4}


@pytest.fixture
def ws(tmp_path):
    ws = make_workspace(tmp_path, {"pre.yaml": spec("pretrain", TINY)})
    (ws / ".gitignore").write_text("/runs/\n/mlflow.db\n/mlartifacts/\n/.repro/\n")
    assert sh("git", "init", "-q", cwd=ws).returncode == 0
    assert sh(sys.executable, "-m", "dvc", "init", "-q", cwd=ws).returncode == 0
    assert sh(sys.executable, "-m", "repro.cli", "compile", cwd=ws).returncode == 0
    assert sh("git", "add", "-A", cwd=ws).returncode == 0
    assert sh("git", "commit", "-qm", "specs", cwd=ws).returncode == 0
    return ws


def _repro(ws, *args):
    return sh(sys.executable, "-m", "repro.cli", *args, cwd=ws)


def test_a_direct_dvc_exp_set_is_explained_not_reverted(ws):
    before = (ws / "params.yaml").read_text()
    edited = before.replace("lr: 0.003", "lr: 0.009")
    assert edited != before
    (ws / "params.yaml").write_text(edited)
    r = _repro(ws, "compile")
    assert r.returncode == 2
    assert "changed outside repro" in r.stderr
    assert "specs.pre.train.optimizer.lr: 0.009 in params.yaml, 0.003 from the spec" in r.stderr
    assert "repro exp run pre --set train.optimizer.lr=0.009" in r.stderr
    assert "Traceback" not in r.stderr
    assert (ws / "params.yaml").read_text() == edited  # nothing reverted


def test_guard_accepts_what_repro_wrote_and_keys_of_your_own(ws):
    text = (ws / "params.yaml").read_text()
    guard(ws, text)
    (ws / "params.yaml").write_text(text + "mine: {threshold: 1}\n")
    guard(ws, text)  # top-level keys of your own are yours
    (ws / "params.yaml").write_text(text.replace("seed: 7", "seed: 8"))
    with pytest.raises(ReproError, match="specs.pre.seed: 8 in params.yaml, 7 from the spec"):
        guard(ws, text)


def test_set_fields_keeps_comments():
    text = "# my spec\ntrain:\n  optimizer: {name: adamw, lr: 0.003}  # tuned\n  max_steps: 5\n"
    out = set_fields(text, ["train.optimizer.lr=0.01", "train.max_steps=7"], "x.yaml")
    assert out.startswith("# my spec\n") and "# tuned" in out
    assert "lr: 0.01" in out and "max_steps: 7" in out

