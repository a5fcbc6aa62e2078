import csv
import json

from repro.contract import paths
from runners.records.lineage import spec_hash
from tests.runners.conftest import base_params


def test_pretrain_outputs_and_lineage(pretrained):
    out = pretrained / "runs" / "pre"
    metrics = json.loads((out / paths.TRAIN_METRICS).read_text())
    assert metrics["steps"] == 80
    assert metrics["last_loss"] < metrics["first_loss"] - 1.0
    assert metrics["tokens"] > 0
    assert (out / "model" / "model.safetensors").is_file()
    assert (out / "model" / "tokenizer.json").is_file()
    with open(out / paths.TRAIN_LOG) as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["step", "loss", "lr"]
    assert [int(r[0]) for r in rows[1:]] == list(range(10, 81, 10))

    lineage = json.loads((out / paths.TRAIN_LINEAGE).read_text())
    params = base_params()
    manifest = json.loads((pretrained / "runs/_data/grammar-test/manifest.json").read_text())
    assert lineage["lineage_version"] == 3
    assert lineage["stage"] == "train" and lineage["spec"] == "pre"
    assert lineage["spec_hash"] == spec_hash(
        params["specs"]["pre"], params["datasets"]["grammar-test"]
    )
    data = lineage["inputs"]["data"]
    assert data["key"] == "grammar-test" and data["data_hash"] == manifest["data_hash"]
    assert lineage["determinism"]["seed"] == 7
    assert "runners/training/loop.py" in lineage["code"]["sources"]
    versions = lineage["environment"]["versions"]
    assert {"torch", "transformers", "peft", "tokenizers", "mlflow"} <= set(versions)
    run = json.loads((out / paths.TRAIN_RUN).read_text())
    assert run["duration_s"] >= 0 and run["started"] <= run["ended"]
    assert set(run["git"]) == {"commit", "dirty", "diff_sha256"}
    # no absolute paths of this machine in the saved model
    assert str(pretrained) not in (out / "model" / "config.json").read_text()


def test_full_fine_tune_loss_falls(sft_full, pretrained):
    assert sft_full["last_loss"] < sft_full["first_loss"] * 0.6
    assert sft_full["trainable_parameters"] == sft_full["parameters"]
    assert (pretrained / "runs/sft-full/model/model.safetensors").is_file()


def test_lora_writes_only_an_adapter(sft_lora, pretrained):
    from safetensors import safe_open

    assert sft_lora["last_loss"] < sft_lora["first_loss"] - 1.0
    assert sft_lora["trainable_parameters"] < sft_lora["parameters"] / 5
    model_dir = pretrained / "runs/sft-lora/model"
    assert not (model_dir / "model.safetensors").exists()
    config = json.loads((model_dir / "adapter_config.json").read_text())
    assert config["base_model_name_or_path"] == "runs/pre/model"
    assert config["target_modules"] == ["q_proj", "up_proj", "v_proj"]  # sorted: stable bytes
    with safe_open(model_dir / "adapter_model.safetensors", "pt") as f:
        keys = list(f.keys())
    assert keys and all("lora_" in k for k in keys)


def test_lora_training_changes_only_adapter_weights(pretrained):
    from runners.data.examples import load_examples
    from runners.models import modeling
    from runners.params import resolve_spec
    from runners.train import SECTIONS
    from runners.training.loop import fit
    from runners.training.seeding import seed_everything

    spec = resolve_spec(base_params()["specs"]["sft-lora"], "sft-lora", SECTIONS)
    spec["train"]["max_steps"] = 5
    ref = modeling.base_ref(spec["model"]["base"], pretrained)
    data = pretrained / "runs/_data/arith-test"
    gen = seed_everything(1)
    tok = modeling.resolve_tokenizer(data, ref)
    model = modeling.add_adapter(
        modeling.build_base(spec["model"]["base"], ref, tok, 1), spec["train"]["peft"]
    )
    before = {k: v.clone() for k, v in model.state_dict().items()}
    examples = load_examples(data, "train", 32).examples
    fit(model, examples, spec["train"], gen, tok.pad_token_id, say=lambda _: None)
    after = model.state_dict()
    changed = {k for k in before if not before[k].equal(after[k])}
    assert changed and all("lora_" in k for k in changed)
    assert any("lora_B" in k for k in changed)


def test_training_is_reproducible(pretrained, tmp_path):
    """Same spec, same data, two runs: identical weights and logs."""
    import shutil

    from runners.train import train

    root = tmp_path / "again"
    shutil.copytree(pretrained / "runs/_data", root / "runs/_data")
    (root / "params.yaml").write_text((pretrained / "params.yaml").read_text())
    spec = base_params()["specs"]["pre"]
    assert train(spec, "pre", root) == json.loads(
        (pretrained / "runs/pre/train_metrics.json").read_text()
    )
    for rel in [
        "model/model.safetensors",
        "model/config.json",
        "train_log.csv",
        "train_metrics.json",
    ]:
        assert (root / "runs/pre" / rel).read_bytes() == (
            pretrained / "runs/pre" / rel
        ).read_bytes()
