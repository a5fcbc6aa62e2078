"""Each stage depends on the code it runs, no more: an edit re-runs only the stages it can change.

The shipped pipeline is locked as if fully built (placeholder outputs, ``dvc commit``), then one
module gets a comment appended and ``dvc status`` says which stages are stale.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
ENV = {**os.environ, "DVC_NO_ANALYTICS": "1"}


def _dvc(ws: Path, *args: str) -> subprocess.CompletedProcess:
    out = subprocess.run([sys.executable, "-m", "dvc", *args], cwd=ws, env=ENV,
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return out


@pytest.fixture(scope="module")
def locked(tmp_path_factory) -> Path:
    """A copy of the shipped workspace whose every stage is locked as up to date."""
    ws = tmp_path_factory.mktemp("ws")
    for item in ("repro", "runners", "specs", "human", "tasks"):  # what the stages read
        shutil.copytree(ROOT / item, ws / item, ignore=shutil.ignore_patterns("__pycache__"))
    for item in ("dvc.yaml", "params.yaml", "env.lock"):
        shutil.copy(ROOT / item, ws / item)
    _dvc(ws, "init", "--no-scm", "-q")
    stages = yaml.safe_load((ws / "dvc.yaml").read_text())["stages"]
    for stage in stages.values():  # a placeholder for every output
        for out in [*stage.get("outs", []), *stage.get("metrics", [])]:
            p = ws / out
            if p.suffix:
                p.parent.mkdir(parents=True, exist_ok=True)
                p.write_text("{}\n")
            else:
                p.mkdir(parents=True, exist_ok=True)
                (p / "placeholder").write_text(out)
        for plot in stage.get("plots", []):
            for f in plot:
                (ws / f).write_text("step,loss\n")
    _dvc(ws, "commit", "-f", "-q")
    assert _stale(ws) == set()
    return ws


def _stale(ws: Path) -> set[str]:
    return set(json.loads(_dvc(ws, "status", "--json").stdout or "{}"))


def _with_comment(ws: Path, module: str) -> set[str]:
    """The stages stale after appending a comment to ``module`` (restored afterwards)."""
    f = ws / module
    text = f.read_text()
    f.write_text(text + "# a comment\n")
    try:
        return _stale(ws)
    finally:
        f.write_text(text)


def _stages(ws: Path, kind: str, method: str | None = None) -> set[str]:
    """The ``kind`` stages (of specs training with ``method``); a sweep spec's one search
    stage trains and evaluates, so it stands for both."""
    specs = yaml.safe_load((ws / "params.yaml").read_text())["specs"]
    return {f"search-{name}" if "search" in spec else f"{kind}-{name}"
            for name, spec in specs.items()
            if method is None or spec["train"]["method"] == method}


def test_a_method_module_stales_only_the_train_stages_of_that_method(locked):
    grpo = _stages(locked, "train", "grpo")
    assert grpo == {"train-trl-grpo", "train-trl-grpo-exact"}
    assert _with_comment(locked, "runners/methods/grpo.py") == grpo
    assert _with_comment(locked, "runners/methods/dpo.py") == _stages(locked, "train", "dpo")


def test_the_cleaning_code_stales_no_train_or_evaluate_stage(locked):
    stale = _with_comment(locked, "runners/data/clean.py")
    prepare = {s for s in yaml.safe_load((locked / "dvc.yaml").read_text())["stages"]
               if s.startswith("prepare-")}
    # the prepare stages re-run; if their output comes out the same, nothing downstream does
    assert stale == prepare


def test_the_evaluate_section_of_the_schema_stales_no_train_stage(locked):
    stale = _with_comment(locked, "repro/spec/sections/evaluate.py")
    assert stale == _stages(locked, "evaluate")
