"""Shared fixtures: small workspaces in temporary folders."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from tests.specs import TINY_PRETRAIN, TINY_SFT, write_specs

__all__ = ["TINY_PRETRAIN", "TINY_SFT", "make_workspace", "tree_digest"]  # TINY_*: tests.specs

ROOT = Path(__file__).resolve().parents[1]

os.environ.setdefault("DVC_NO_ANALYTICS", "1")
os.environ.setdefault("NO_COLOR", "1")


def make_workspace(path: Path, specs: dict[str, str | dict]) -> Path:
    """``specs/<file>`` under ``path`` for each spec: text as is, a dict (tests.specs.spec)
    rendered as a spec file."""
    (path / "specs").mkdir(parents=True, exist_ok=True)
    return write_specs(path, specs)


def tree_digest(path: Path) -> dict[str, str]:
    """Hash of every file under ``path`` (to prove a command changed nothing)."""
    out = {}
    for f in sorted(path.rglob("*")):
        if f.is_file() and ".git" not in f.parts:
            out[str(f.relative_to(path))] = hashlib.sha256(f.read_bytes()).hexdigest()
    return out


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    return make_workspace(tmp_path, {"pre.yaml": TINY_PRETRAIN, "sft.yaml": TINY_SFT})
