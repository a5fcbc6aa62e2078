"""Fixtures: tmp_path workspaces with a compiled params.yaml and a tiny model.

Everything is offline and small: a 1-layer, 32-wide Llama, a 300-token tokenizer,
a few hundred rows, a few dozen steps.
"""

from __future__ import annotations

import copy
import functools
import os
from pathlib import Path

import pytest
import yaml

from tests.specs import compile_params, spec

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # nothing may reach the Hub
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")

# the three specs the runner tests train: a tiny model, trained hard enough to learn in seconds
TINY = {"data": {"source": {"size": 400}}, "evaluate": {"max_new_tokens": 4},
        "train": {"optimizer": {"lr": 0.005}, "batch_size": 16, "log_every": 10}}
SPECS = {
    "pre": spec("pretrain", {
        "train.scheduler": {"name": "cosine", "warmup_ratio": 0.1}, "train.max_steps": 80,
        "evaluate.batch_size": 16,
    }, **TINY, model={"base": {"config": {"num_key_value_heads": 2, "max_position_embeddings": 64}}}),
    "sft-full": spec("sft", {
        "train.scheduler": {"name": "linear", "warmup_ratio": 0.1}, "train.max_steps": 40,
        "train.grad_accum": 2, "evaluate.max_examples": 16, "evaluate.batch_size": 8,
    }, **TINY),
    "sft-lora": spec("sft", {
        "train.peft": {"kind": "lora", "r": 4, "alpha": 8,
                       "target_modules": ["q_proj", "v_proj", "up_proj"]},
        "train.scheduler": {"name": "constant"}, "train.max_steps": 40,
        "evaluate.max_examples": 16, "evaluate.batch_size": 8,
    }, **TINY),
}
# the compiler's `<label>-<hash>` data keys, renamed for readable paths (runs/_data/arith-test)
DATA_KEYS = {"pre": "grammar-test", "sft-full": "arith-test"}


@functools.cache
def _compiled() -> dict:
    return compile_params(SPECS, DATA_KEYS)


def base_params() -> dict:
    """params.yaml for SPECS, as `repro compile` writes it (a fresh copy each call)."""
    return copy.deepcopy(_compiled())


def write_params(root: Path, params: dict | None = None) -> dict:
    params = base_params() if params is None else params
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False), encoding="utf-8")
    return params


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """An empty workspace holding the compiled params.yaml."""
    write_params(tmp_path)
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
    # a data set tokenized with another's tokenizer after that one (dvc.yaml's order)
    datasets = params["datasets"]
    for key in sorted(datasets, key=lambda k: datasets[k]["tokenizer_from"] is not None):
        prepare(datasets[key], root / paths.data_dir(key), root)
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
