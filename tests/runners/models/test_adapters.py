"""DoRA, QLoRA (4-bit nf4 base through bitsandbytes), modules_to_save, and export: each
adapter learns, and a merged export gives the same logits as base + adapter."""

import shutil

import pytest

from runners.models import modeling
from tests.runners.conftest import base_params, write_params
from tests.runners.training.test_training_options import _fit

LORA = {"kind": "lora", "r": 4, "alpha": 8, "dropout": 0.0,
        "target_modules": ["q_proj", "v_proj", "up_proj"]}


def test_dora_learns_a_magnitude(pretrained):
    result, model = _fit(pretrained, {**LORA, "kind": "dora"}, max_steps=30)
    assert result.last_loss < 0.8 * result.first_loss
    names = [n for n, p in model.named_parameters() if p.requires_grad]
    assert any("lora_magnitude_vector" in n for n in names)


def test_qlora_trains_on_a_4bit_base(pretrained):
    import bitsandbytes as bnb

    peft = {**LORA, "kind": "qlora", "quant_type": "nf4", "double_quant": True,
            "compute_dtype": "fp32"}
    result, model = _fit(pretrained, peft, max_steps=30)
    assert result.last_loss < 0.8 * result.first_loss
    four_bit = [m for m in model.modules() if isinstance(m, bnb.nn.Linear4bit)]
    assert four_bit and all(m.weight.quant_type == "nf4" for m in four_bit)
    assert all(not p.requires_grad for m in four_bit for p in m.parameters(recurse=False))


def test_modules_to_save_are_trained_in_full(pretrained):
    result, model = _fit(pretrained, {**LORA, "modules_to_save": ["norm"]}, max_steps=10)
    trained = [n for n, p in model.named_parameters() if p.requires_grad]
    assert any(n.endswith("model.norm.modules_to_save.default.weight") for n in trained)
    assert result.last_loss < result.first_loss


@pytest.mark.parametrize("kind", ["lora", "dora"])
def test_export_merges_to_the_same_logits(pretrained, tmp_path, kind):
    import torch
    from transformers import AutoModelForCausalLM

    from runners.export import export
    from runners.train import train

    root = tmp_path / "ws"
    shutil.copytree(pretrained / "runs/_data", root / "runs/_data")
    shutil.copytree(pretrained / "runs/pre/model", root / "runs/pre/model")
    params = base_params()
    spec = params["specs"]["sft-lora"]
    spec["train"]["peft"] = {**LORA, "kind": kind, "modules_to_save": ["norm"]}
    spec["train"]["max_steps"] = 15
    write_params(root, params)
    train(spec, "sft-lora", root)

    info = export(spec, "sft-lora", root)
    merged_dir = root / "runs/sft-lora/merged"
    assert info["merged"] and info["out"] == str(merged_dir)
    assert (merged_dir / "model.safetensors").is_file() and (merged_dir / "tokenizer.json").is_file()
    assert not (merged_dir / "adapter_config.json").exists()

    adapted, tok = modeling.load_trained(spec, "sft-lora", root)
    merged = AutoModelForCausalLM.from_pretrained(merged_dir)
    ids = torch.tensor([tok("Q: 12+7=?\nA: 19")["input_ids"]])
    with torch.no_grad():
        want, got = adapted(ids).logits, merged(ids).logits
        base = modeling.load_pretrained(str(root / "runs/pre/model"))(ids).logits
    assert not torch.allclose(want, base, atol=1e-3)  # the adapter changed something
    torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)
