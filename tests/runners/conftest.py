"""Fixtures: tmp_path workspaces with a hand-written params.yaml and a tiny model.

Everything is offline and small: a 1-layer, 32-wide Llama, a 300-token tokenizer,
a few hundred rows, a few dozen steps.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # nothing may reach the Hub
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")

PARAMS_YAML = """\
datasets:
  grammar-test:
    source: {builtin: grammar, size: 400}
    format: text
    seed: 7
    clean: {dedupe: exact, min_chars: 1}
    split: {validation: 0.1, test: 0.1}
    tokenizer: {kind: bpe, vocab_size: 300, min_frequency: 2}
  arith-test:
    source: {builtin: arithmetic, size: 400}
    format: instruction
    seed: 7
    clean: {dedupe: exact, min_chars: 1}
    split: {validation: 0.1, test: 0.1}
    tokenizer: null
    tokenizer_from: {data: grammar-test}
specs:
  pre:
    seed: 7
    data: grammar-test
    model:
      base:
        config: {arch: llama, hidden_size: 32, intermediate_size: 64, num_hidden_layers: 1,
                 num_attention_heads: 2, num_key_value_heads: 2, max_position_embeddings: 64}
    train:
      method: pretrain
      optimizer: {name: adamw, lr: 0.005, weight_decay: 0.0, betas: [0.9, 0.999], eps: 1.0e-08}
      scheduler: {name: cosine, warmup_ratio: 0.1}
      max_steps: 80
      epochs: null
      batch_size: 16
      grad_accum: 1
      max_grad_norm: 1.0
      max_length: 48
      log_every: 10
    evaluate:
      metrics: [perplexity]
      split: test
      max_examples: 20
      max_new_tokens: 4
      batch_size: 16
      compare_base: true
    tracking: {mlflow: false, tracking_uri: null, experiment: repro-tests}
  sft-full:
    seed: 7
    data: arith-test
    model:
      base: {spec: pre}
    train:
      method: sft
      peft: null
      optimizer: {name: adamw, lr: 0.005, weight_decay: 0.0, betas: [0.9, 0.999], eps: 1.0e-08}
      scheduler: {name: linear, warmup_ratio: 0.1}
      max_steps: 40
      epochs: null
      batch_size: 16
      grad_accum: 2
      max_grad_norm: 1.0
      max_length: 32
      log_every: 10
    evaluate:
      metrics: [perplexity, exact_match]
      split: test
      max_examples: 16
      max_new_tokens: 4
      batch_size: 8
      compare_base: true
    tracking: {mlflow: false, tracking_uri: null, experiment: repro-tests}
  sft-lora:
    seed: 7
    data: arith-test
    model:
      base: {spec: pre}
    train:
      method: sft
      peft: {kind: lora, r: 4, alpha: 8, dropout: 0.0, target_modules: [q_proj, v_proj, up_proj]}
      optimizer: {name: adamw, lr: 0.005, weight_decay: 0.0, betas: [0.9, 0.999], eps: 1.0e-08}
      scheduler: {name: constant, warmup_ratio: 0.0}
      max_steps: 40
      epochs: null
      batch_size: 16
      grad_accum: 1
      max_grad_norm: 1.0
      max_length: 32
      log_every: 10
    evaluate:
      metrics: [perplexity, exact_match]
      split: test
      max_examples: 16
      max_new_tokens: 4
      batch_size: 8
      compare_base: true
    tracking: {mlflow: false, tracking_uri: null, experiment: repro-tests}
"""


def base_params() -> dict:
    return yaml.safe_load(PARAMS_YAML)


def write_params(root: Path, params: dict | None = None) -> dict:
    params = base_params() if params is None else params
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False), encoding="utf-8")
    return params


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """An empty workspace holding the hand-written params.yaml."""
    (tmp_path / "params.yaml").write_text(PARAMS_YAML, encoding="utf-8")
    return tmp_path


@pytest.fixture(scope="session")
def pretrained(tmp_path_factory) -> Path:
    """A workspace with both data sets prepared and spec ``pre`` trained (shared, read-only:
    tests that train more specs there use their own spec names)."""
    from repro.contract import paths
    from runners.prepare import prepare
    from runners.train import train

    root = tmp_path_factory.mktemp("pretrained")
    params = write_params(root)
    for key, dataset in params["datasets"].items():
        prepare(dataset, root / paths.data_dir(key), root)
    train(params["specs"]["pre"], "pre", root)
    return root


@pytest.fixture(scope="session")
def sft_full(pretrained: Path) -> dict:
    """Spec ``sft-full`` trained in the shared workspace; its train metrics."""
    from runners.train import train

    return train(base_params()["specs"]["sft-full"], "sft-full", pretrained)


@pytest.fixture(scope="session")
def sft_lora(pretrained: Path) -> dict:
    """Spec ``sft-lora`` trained in the shared workspace; its train metrics."""
    from runners.train import train

    return train(base_params()["specs"]["sft-lora"], "sft-lora", pretrained)
