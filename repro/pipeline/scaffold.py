"""``repro init``: a new workspace (git + DVC + a starter spec) in an empty folder."""

from __future__ import annotations

import subprocess
from pathlib import Path

from repro.errors import ReproError

STARTER = """\
# A starter spec: pretrain a tiny Llama-style model from scratch on the built-in
# grammar corpus. Copy it, change a field, run `repro validate` then `repro`.
spec_version: 2
description: tiny model pretrained from scratch on built-in data
seed: 1234
data:
  source: {builtin: grammar, size: 2000}
  format: text
  tokenizer: {kind: bpe, vocab_size: 512}
model:
  base:
    config: {hidden_size: 64, intermediate_size: 256, num_hidden_layers: 2, num_attention_heads: 4}
train:
  method: pretrain
  optimizer: {name: adamw, lr: 3.0e-3}
  max_steps: 200
  batch_size: 16
evaluate:
  metrics: [perplexity]
"""

GITIGNORE = """\
# repro outputs (tracked by DVC, not git) and the local MLflow store
/runs/
/mlflow.db
/mlartifacts/
/mlruns/
/.repro/
__pycache__/
"""


def _run(cmd: list[str], cwd: Path) -> None:
    try:
        proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    except FileNotFoundError:
        raise ReproError(f"'{cmd[0]}' is not installed; repro needs it") from None
    if proc.returncode != 0:
        raise ReproError(f"{' '.join(cmd)} failed: {proc.stderr.strip() or proc.stdout.strip()}")


def init_workspace(path: Path) -> None:
    import sys

    if path.exists() and not path.is_dir():
        raise ReproError(f"{path} exists and is not a folder")
    if path.exists() and any(path.iterdir()):
        raise ReproError(f"{path} is not empty; repro init only creates new workspaces")
    path.mkdir(parents=True, exist_ok=True)
    try:
        _run(["git", "init", "-q"], path)
        _run([sys.executable, "-m", "dvc", "init", "-q"], path)
        (path / "specs").mkdir()
        (path / "specs" / "starter.yaml").write_text(STARTER, encoding="utf-8")
        (path / ".gitignore").write_text(GITIGNORE, encoding="utf-8")
        from repro.contract.fsio import write_text_atomic
        from repro.pipeline.compiler import compile_workspace
        from repro.spec.workspace import load_workspace

        entries = load_workspace(path)
        compiled = compile_workspace(path, entries)
        write_text_atomic(path / "params.yaml", compiled.params_yaml)
        write_text_atomic(path / "dvc.yaml", compiled.dvc_yaml)
        from repro.pipeline.plots import write_offline_template

        write_offline_template(path)
    except BaseException:
        import shutil

        shutil.rmtree(path, ignore_errors=True)
        raise
