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
    from runners.prepare import prepare

    root = _workspace_with_local_model(pretrained, tmp_path)
    bare = base_params()["datasets"]["arith-test"] | {"tokenizer_from": None}
    prepare(bare, root / "runs/_data/bare", root)  # rows only: no tokenizer, no tokens
    spec = base_params()["specs"]["pre"] | {"data": "bare"}
    with pytest.raises(RunnerError, match="needs a tokenizer"):
        train(spec, "x", root)


def test_same_seed_same_init(pretrained):
    from runners.data.bpe import wrap  # noqa: F401  (imports transformers)
    from runners.models.modeling import build_from_config, load_tokenizer

    tok = load_tokenizer(pretrained / "runs/_data/grammar-test/tokenizer")
    config = base_params()["specs"]["pre"]["model"]["base"]["config"]
    a, b = build_from_config(config, tok, 3), build_from_config(config, tok, 3)
    assert all(x.equal(y) for x, y in zip(a.parameters(), b.parameters(), strict=True))
    assert a.config.tie_word_embeddings and a.config.vocab_size == len(tok)


def test_hub_id_with_pinned_revision_loads_offline_from_the_hf_cache(pretrained, tmp_path):
    """The real hub path: `org/name` + a revision sha, resolved by huggingface_hub from its cache.

    We lay out the cache the way a download would (models--org--name/snapshots/<sha>/ and
    refs/main), then load with HF_HUB_OFFLINE=1 in a fresh process, so nothing touches the network.
    """
    import subprocess
    import sys

    sha = "0123456789abcdef0123456789abcdef01234567"
    repo = tmp_path / "hf" / "models--repro-test--tiny"
    shutil.copytree(pretrained / "runs/pre/model", repo / "snapshots" / sha)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(sha)
    code = (
        "from pathlib import Path\n"
        "from runners.models import modeling\n"
        f"ref = modeling.base_ref({{'hub': 'repro-test/tiny', 'revision': '{sha}'}}, Path('.'))\n"
        "tok = modeling.resolve_tokenizer(Path('no-data'), ref)\n"
        "model = modeling.build_base({'hub': 'repro-test/tiny', 'revision': ref.revision},"
        " ref, tok, 0)\n"
        "print(type(model).__name__, model.num_parameters(), len(tok))\n"
    )
    env = {"HF_HUB_OFFLINE": "1", "HF_HUB_CACHE": str(tmp_path / "hf"), "PATH": "/usr/bin:/bin",
           "HF_HUB_DISABLE_TELEMETRY": "1"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    name, n_params, vocab = out.stdout.split()
    assert name == "LlamaForCausalLM" and int(n_params) > 0 and int(vocab) > 100
    # an unknown revision is not silently replaced by another one
    bad = code.replace(sha, "f" * 40)
    out = subprocess.run([sys.executable, "-c", bad], capture_output=True, text=True, env=env,
                         cwd=tmp_path)
    assert out.returncode != 0


def test_a_saved_tokenizer_does_not_depend_on_hf_hub_offline(pretrained, tmp_path):
    """transformers records ``local_files_only`` (True under HF_HUB_OFFLINE=1) in the
    tokenizer_config.json it saves; loaded through repro, the saved bytes are the same."""
    import os
    import subprocess
    import sys

    from tests.conftest import ROOT

    source = pretrained / "runs/pre/model"
    script = ("import sys; from runners.models.modeling import load_tokenizer; "
              "load_tokenizer(sys.argv[1]).save_pretrained(sys.argv[2])")
    saved = {}
    for offline in ("0", "1"):
        out = tmp_path / f"offline-{offline}"
        env = {**os.environ, "HF_HUB_OFFLINE": offline, "PYTHONPATH": str(ROOT)}
        subprocess.run([sys.executable, "-c", script, str(source), str(out)], env=env,
                       check=True, capture_output=True)
        saved[offline] = (out / "tokenizer_config.json").read_bytes()
    assert saved["0"] == saved["1"]
    assert b"local_files_only" not in saved["1"]
