"""Shared fixtures: small workspaces in temporary folders."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

os.environ.setdefault("DVC_NO_ANALYTICS", "1")
os.environ.setdefault("NO_COLOR", "1")

TINY_PRETRAIN = """\
spec_version: 2
seed: 7
data:
  source: {builtin: grammar, size: 300}
  format: text
  tokenizer: {kind: bpe, vocab_size: 300}
model:
  base:
    config: {hidden_size: 32, intermediate_size: 64, num_hidden_layers: 1, num_attention_heads: 2}
train:
  method: pretrain
  optimizer: {name: adamw, lr: 3.0e-3}
  max_steps: 30
  batch_size: 8
  max_length: 48
evaluate:
  metrics: [perplexity]
  max_examples: 20
tracking:
  mlflow: false
"""

TINY_SFT = """\
spec_version: 2
seed: 7
data:
  source: {builtin: arithmetic, size: 300}
  format: instruction
model:
  base: {spec: pre}
train:
  method: sft
  optimizer: {name: adamw, lr: 1.0e-3}
  max_steps: 20
  batch_size: 8
  max_length: 32
evaluate:
  metrics: [perplexity, exact_match]
  max_examples: 20
tracking:
  mlflow: false
"""


def make_workspace(path: Path, specs: dict[str, str]) -> Path:
    (path / "specs").mkdir(parents=True, exist_ok=True)
    for name, text in specs.items():
        f = path / "specs" / name
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(text, encoding="utf-8")
    return path


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
