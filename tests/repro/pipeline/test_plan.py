"""`repro plan`: counts from a meta-device model match the real model; missing LoRA
targets are an error that lists the modules that exist; --json for scripts."""

from __future__ import annotations

import json
import subprocess
import sys

from repro.cli import main
from tests.conftest import ROOT, TINY_PRETRAIN, TINY_SFT, make_workspace
from tests.specs import line_of, spec, to_yaml

LORA = spec("sft", {"train.peft": {"kind": "lora", "r": 4, "target_modules": ["q_proj", "v_proj"],
                                   "modules_to_save": ["lm_head"]}})


def _plan_json(ws, *specs, capsys):
    assert main(["-C", str(ws), "--json", "plan", *specs]) == 0
    return json.loads(capsys.readouterr().out)


def test_counts_match_the_real_model(tmp_path, capsys):
    from transformers import LlamaConfig, LlamaForCausalLM

    ws = make_workspace(tmp_path, {"pre.yaml": spec("pretrain"), "sft.yaml": LORA})
    pre, sft = _plan_json(ws, "pre", "sft", capsys=capsys)
    real = LlamaForCausalLM(LlamaConfig(vocab_size=300, hidden_size=32, intermediate_size=64,
                                        num_hidden_layers=1, num_attention_heads=2,
                                        tie_word_embeddings=True))
    total = sum(p.numel() for p in real.parameters())  # tied: counted once
    assert pre["parameters"] == total == sft["parameters"]
    assert pre["trainable"] == total
    assert pre["memory"] == {"weights": 4 * total, "gradients": 4 * total,
                             "optimizer": 8 * total, "total": 16 * total}
    assert pre["tokens_per_step"] == 8 * 48
    # LoRA r=4 on q and v (32 -> 32) in one layer, plus a trainable copy of lm_head
    lora = 2 * 4 * (32 + 32)
    assert sft["trainable"] == lora + 300 * 32
    from peft import LoraConfig, get_peft_model

    peft = get_peft_model(real, LoraConfig(r=4, target_modules=["q_proj", "v_proj"],
                                           modules_to_save=["lm_head"]))
    assert sft["trainable"] == sum(p.numel() for p in peft.parameters() if p.requires_grad)
    assert sft["adapter"] == {"kind": "lora", "r": 4, "modules": 2, "modules_to_save": 1}


def test_counts_match_peft(tmp_path, capsys):
    """DoRA on a GPT-2 layout: the plan's trainable count is what peft builds."""
    from peft import LoraConfig, get_peft_model
    from transformers import GPT2Config, GPT2LMHeadModel

    dora = spec("pretrain", {"model.base.config.arch": "gpt2", "train.method": "sft",
                             "train.peft": {"kind": "dora", "r": 2,
                                            "target_modules": ["c_attn", "c_fc"]}})
    ws = make_workspace(tmp_path, {"d.yaml": dora})
    (plan,) = _plan_json(ws, "d", capsys=capsys)
    model = GPT2LMHeadModel(GPT2Config(vocab_size=300, n_embd=32, n_inner=64, n_layer=1,
                                       n_head=2, n_positions=128))
    peft = get_peft_model(model, LoraConfig(r=2, target_modules=["c_attn", "c_fc"],
                                            use_dora=True))
    trainable = sum(p.numel() for p in peft.parameters() if p.requires_grad)
    assert plan["arch"] == "gpt2" and plan["trainable"] == trainable


def test_missing_target_module_lists_the_existing_ones(tmp_path, capsys):
    from transformers import GPT2Config, GPT2LMHeadModel

    GPT2LMHeadModel(GPT2Config(vocab_size=64, n_embd=16, n_layer=1, n_head=2,
                               n_positions=32)).save_pretrained(tmp_path / "gpt2-tiny")
    s = to_yaml(spec("sft", {"model.base": {"path": "gpt2-tiny"},
                             "train.peft": {"kind": "lora", "target_modules": ["q_proj", "c_fc"]}}))
    ws = make_workspace(tmp_path, {"s.yaml": s})
    assert main(["-C", str(ws), "plan", "s"]) == 2
    text = capsys.readouterr().err
    assert f"specs/s.yaml:{line_of(s, 'target_modules')}:" in text
    assert "train.peft.target_modules" in text
    assert "no module named 'q_proj' in this gpt2 model" in text
    assert "modules that exist: c_attn, c_fc, c_proj, lm_head" in text


def test_qlora_weights_are_a_fraction(tmp_path, capsys):
    from transformers import LlamaConfig, LlamaForCausalLM

    LlamaForCausalLM(LlamaConfig(vocab_size=64, hidden_size=128, intermediate_size=512,
                                 num_hidden_layers=2, num_attention_heads=4)
                     ).save_pretrained(tmp_path / "base")
    def adapter(kind: str) -> dict:
        return spec("sft", {"model.base": {"path": "base"},
                            "train.peft": {"kind": kind, "target_modules": ["q_proj"]}})

    ws = make_workspace(tmp_path, {"q.yaml": adapter("qlora"), "l.yaml": adapter("lora")})
    lora, qlora = _plan_json(ws, "l", "q", capsys=capsys)
    assert qlora["trainable"] == lora["trainable"]
    assert qlora["memory"]["weights"] < 0.4 * lora["memory"]["weights"]


def test_table_output(workspace, capsys):
    assert main(["-C", str(workspace), "plan", "sft"]) == 0
    out = capsys.readouterr().out
    for piece in ("plan", "sft", "parameters", "trainable", "memory (est.)", "tokens per step",
                  "activations not included"):
        assert piece in out


def test_control_plane_does_not_import_torch_for_a_cpu_check():
    code = ("import sys; from repro.contract.hardware import cuda_available; "
            "assert cuda_available() is False; assert 'torch' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_a_prepared_tokenizer_sets_the_vocabulary(tmp_path, capsys):
    """Once the data is prepared, the plan counts the tokenizer it really has."""
    from repro.pipeline.compiler import spec_keys
    from repro.spec.workspace import load_workspace

    ws = make_workspace(tmp_path, {"pre.yaml": TINY_PRETRAIN})
    key = spec_keys(ws, load_workspace(ws))["pre"]
    tok = ws / "runs" / "_data" / key / "tokenizer" / "tokenizer.json"
    tok.parent.mkdir(parents=True)
    tok.write_text(json.dumps({"model": {"vocab": {f"t{i}": i for i in range(100)}},
                               "added_tokens": [{"id": 120, "content": "<eos>"}]}))
    (plan,) = _plan_json(ws, "pre", capsys=capsys)
    emb = 121 * 32  # ids 0..120
    (unprepared,) = _plan_json(make_workspace(tmp_path / "b", {"pre.yaml": TINY_PRETRAIN}),
                               "pre", capsys=capsys)
    assert unprepared["parameters"] - plan["parameters"] == 300 * 32 - emb
    assert not any("vocabulary" in n for n in plan["notes"])


def test_an_unreadable_hub_base_names_the_spec_file(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    spec = TINY_SFT.replace("{spec: pre}", "{hub: nobody/no-such-model}")
    ws = make_workspace(tmp_path, {"h.yaml": spec})
    assert main(["-C", str(ws), "plan", "h"]) == 2
    err = capsys.readouterr().err
    assert "specs/h.yaml: model.base.hub: cannot read the config of 'nobody/no-such-model'" in err


def test_plan_writes_nothing_and_honours_overrides(tmp_path, capsys):
    from tests.conftest import tree_digest

    ws = make_workspace(tmp_path, {"pre.yaml": TINY_PRETRAIN})
    before = tree_digest(ws)
    (plan,) = _plan_json(ws, "pre", "--set", "train.batch_size=2", capsys=capsys)
    assert plan["tokens_per_step"] == 2 * 48
    assert tree_digest(ws) == before


def test_reference_and_teacher_models_are_counted(tmp_path, capsys):
    """DPO and KTO hold a frozen copy of the base (not with LoRA, whose disabled base is the
    reference); a distillation student holds its teacher; ORPO holds nothing more."""
    from tests.specs import FEEDBACK_DATA, PREFERENCE_DATA

    pref = {"data": PREFERENCE_DATA, "evaluate.metrics": ["preference_accuracy"]}
    small = {"hidden_size": 16, "intermediate_size": 32, "num_hidden_layers": 1,
             "num_attention_heads": 2}
    ws = make_workspace(tmp_path, {
        "pre.yaml": spec("pretrain"),
        "dpo.yaml": spec("dpo"),
        "dpo-lora.yaml": spec("dpo", {"train.peft": {"kind": "lora"}}),
        "kto.yaml": spec("kto", {"data": FEEDBACK_DATA}),
        "orpo.yaml": spec("orpo", pref),
        "student.yaml": spec("distill", {"model.base": {"config": small},
                                         "model.teacher": {"spec": "pre"}}),
    })
    plans = {p["spec"]: p for p in _plan_json(ws, "pre", "dpo", "dpo-lora", "kto", "orpo",
                                              "student", capsys=capsys)}
    total = plans["pre"]["parameters"]
    for name in ("dpo", "kto"):
        mem = plans[name]["memory"]
        assert mem["reference"] == 4 * total
        assert mem["total"] == 16 * total + 4 * total
    assert "reference" not in plans["dpo-lora"]["memory"]
    assert "reference" not in plans["orpo"]["memory"] and "teacher" not in plans["orpo"]["memory"]
    student = plans["student"]
    assert student["memory"]["teacher"] == 4 * total
    assert student["parameters"] < total  # the student is the smaller model
    assert student["memory"]["total"] == 16 * student["parameters"] + 4 * total
    assert main(["-C", str(ws), "plan", "student"]) == 0
    out = capsys.readouterr().out
    assert "teacher model" in out and "teacher pre:" in out
