"""Loading through the path and hub code paths, offline, from a locally saved model."""

import shutil

import pytest

from runners.errors import RunnerError
from runners.train import train
from tests.runners.conftest import base_params


def _workspace_with_local_model(pretrained, tmp_path):
    root = tmp_path / "ws"
    shutil.copytree(pretrained / "runs/_data", root / "runs/_data")
    shutil.copytree(pretrained / "runs/pre/model", root / "models/local-tiny")
    return root


@pytest.mark.parametrize(
    "base",
    [
        {"path": "models/local-tiny"},
        {"hub": "models/local-tiny", "revision": None},  # from_pretrained takes a directory too
    ],
)
def test_locally_saved_model_loads_as_a_base(pretrained, tmp_path, monkeypatch, base):
    root = _workspace_with_local_model(pretrained, tmp_path)
    monkeypatch.chdir(root)  # a hub id is resolved by from_pretrained itself, from the cwd
    spec = base_params()["specs"]["sft-full"]
    spec["model"]["base"] = base
    spec["train"]["max_steps"] = 5
    metrics = train(spec, "from-local", root)
    assert metrics["steps"] == 5
    assert (root / "runs/from-local/model/model.safetensors").is_file()


def test_spec_base_must_exist(pretrained, tmp_path):
    root = _workspace_with_local_model(pretrained, tmp_path)
    spec = base_params()["specs"]["sft-full"]
    spec["model"]["base"] = {"spec": "never-trained"}
    with pytest.raises(RunnerError, match=r"runs/never-trained/model not found"):
        train(spec, "x", root)


def test_config_base_needs_a_tokenizer(pretrained, tmp_path):
    root = _workspace_with_local_model(pretrained, tmp_path)
    spec = base_params()["specs"]["pre"] | {"data": "arith-test"}
    with pytest.raises(RunnerError, match="needs a tokenizer"):
        train(spec, "x", root)


def test_same_seed_same_init(pretrained):
    from runners.data.tokenizer import wrap  # noqa: F401  (imports transformers)
    from runners.modeling import build_llama, load_tokenizer

    tok = load_tokenizer(pretrained / "runs/_data/grammar-test/tokenizer")
    config = base_params()["specs"]["pre"]["model"]["base"]["config"]
    a, b = build_llama(config, tok, 3), build_llama(config, tok, 3)
    assert all(x.equal(y) for x, y in zip(a.parameters(), b.parameters(), strict=True))
    assert a.config.tie_word_embeddings and a.config.vocab_size == len(tok)
