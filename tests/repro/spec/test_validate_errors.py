"""`repro validate` on broken specs: file, line and field named, exit 2, no traceback, no change."""

from __future__ import annotations

import pytest

from repro.cli import main
from tests.conftest import TINY_PRETRAIN, TINY_SFT, make_workspace, tree_digest

BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(6)
)

# name -> (file content (str or bytes), expected substrings in the error output)
CASES = {
    "yaml_syntax": (
        TINY_SFT.replace("format: instruction", "format: [instruction"),
        ["specs/bad.yaml:", "YAML syntax error"],
    ),
    "tab_indent": (
        TINY_SFT.replace("  format: instruction", "\tformat: instruction"),
        ["specs/bad.yaml:5:", "tab character"],
    ),
    "duplicate_key": (
        TINY_SFT.replace("seed: 7\n", "seed: 7\nseed: 8\n"),
        ["specs/bad.yaml:3:1", "duplicate key 'seed'", "line 2"],
    ),
    "unknown_key": (
        TINY_SFT.replace("optimizer: {name: adamw, lr: 1.0e-3}",
                         "optimizer:\n    name: adamw\n    learning_rte: 1.0e-3"),
        ["specs/bad.yaml:12:5", "train.optimizer.learning_rte", "unknown field",
         "did you mean 'lr'?"],
    ),
    "wrong_type": (
        TINY_SFT.replace("batch_size: 8", "batch_size: eight"),
        ["specs/bad.yaml:12:15", "train.batch_size", "integer", "'eight'"],
    ),
    "out_of_range": (
        TINY_SFT.replace("method: sft", "method: sft\n  peft: {kind: lora, r: -4}"),
        ["specs/bad.yaml:10:25", "train.peft.r", "must be > 0 (got -4)"],
    ),
    "fp16_without_cuda": (
        TINY_SFT.replace("method: sft", "method: sft\n  precision: fp16"),
        ["specs/bad.yaml:10:3", "train.precision", "fp16 needs a CUDA GPU", "use bf16"],
    ),
    "qlora_on_a_new_model": (
        TINY_PRETRAIN.replace("method: pretrain", "method: sft\n  peft: {kind: qlora}"),
        ["specs/bad.yaml:12:10", "train.peft.kind", "qlora quantizes pretrained weights"],
    ),
    "gpt2_target_modules": (
        TINY_PRETRAIN.replace("hidden_size: 32,", "arch: gpt2, hidden_size: 32,")
        .replace("method: pretrain", "method: sft\n  peft: {kind: lora, target_modules: [q_proj]}"),
        ["train.peft.target_modules", "no module named 'q_proj' in this gpt2 model",
         "c_attn, c_proj, c_fc"],
    ),
    "gpt2_kv_heads": (
        TINY_PRETRAIN.replace("hidden_size: 32,", "arch: gpt2, num_key_value_heads: 1, hidden_size: 32,"),
        ["model.base.config", "num_key_value_heads is a llama field"],
    ),
    "missing_accelerate_config": (
        TINY_SFT.replace("method: sft", "method: sft\n  distributed: {processes: 2, config_file: fsdp.yaml}"),
        ["train.distributed.config_file", "accelerate config 'fsdp.yaml' not found"],
    ),
    "unknown_optimizer": (
        TINY_SFT.replace("name: adamw,", "name: adam8bit,"),
        ["train.optimizer", "adam8bit"],
    ),
    "unknown_method": (
        TINY_SFT.replace("method: sft", "method: sfft"),
        ["specs/bad.yaml:9:11", "train.method", "unknown method 'sfft'", "did you mean 'sft'?"],
    ),
    "missing_data_file": (
        TINY_SFT.replace("{builtin: arithmetic, size: 300}", "{path: data/nope.jsonl}"),
        ["specs/bad.yaml:4:", "data.source.path", "data/nope.jsonl", "not found"],
    ),
    "unknown_base_spec": (
        TINY_SFT.replace("{spec: pre}", "{spec: pree}"),
        ["specs/bad.yaml:7:", "model.base.spec", "unknown base spec 'pree'",
         "did you mean 'pre'?"],
    ),
    "extends_cycle": (
        "extends: _base/a.yaml\n" + TINY_SFT,
        ["cycle in 'extends'", "specs/_base/a.yaml", "specs/_base/b.yaml"],
    ),
    "python_tag": (
        TINY_SFT.replace("seed: 7", "seed: !!python/object/apply:os.system ['touch /tmp/pwned']"),
        ["specs/bad.yaml:2:7", "tag '!!python/object/apply:os.system' is not allowed"],
    ),
    "alias_bomb": (BOMB, ["specs/bad.yaml:", "alias"]),
    "not_utf8": (
        TINY_SFT.encode().replace(b"seed: 7", b"seed: 7 # caf\xe9"),
        ["specs/bad.yaml:2:", "not valid UTF-8"],
    ),
    "missing_section": (
        TINY_SFT.split("model:")[0],
        ["specs/bad.yaml:1:1", "model", "missing required field"],
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_broken_spec(case, tmp_path, capsys):
    content, expected = CASES[case]
    ws = make_workspace(tmp_path, {"pre.yaml": TINY_PRETRAIN})
    ws.joinpath("specs/_base").mkdir()
    ws.joinpath("specs/_base/a.yaml").write_text("extends: b.yaml\nseed: 1\n")
    ws.joinpath("specs/_base/b.yaml").write_text("extends: a.yaml\nseed: 2\n")
    bad = ws / "specs" / "bad.yaml"
    if isinstance(content, bytes):
        bad.write_bytes(content)
    else:
        bad.write_text(content, encoding="utf-8")
    before = tree_digest(ws)

    code = main(["-C", str(ws), "validate"])

    out = capsys.readouterr()
    text = out.err + out.out
    assert code == 2, text
    for piece in expected:
        assert piece in text, f"{piece!r} not in:\n{text}"
    assert "Traceback" not in text
    assert tree_digest(ws) == before
    # the good spec is not blamed
    assert "specs/pre.yaml" not in text


def test_valid_workspace_passes(workspace, capsys):
    assert main(["-C", str(workspace), "validate"]) == 0
    assert "2 spec(s) valid" in capsys.readouterr().out


def test_validate_json(tmp_path, capsys):
    ws = make_workspace(tmp_path, {"pre.yaml": TINY_PRETRAIN.replace("seed: 7", "seed: -1")})
    assert main(["-C", str(ws), "validate", "--json"]) == 2
    import json

    (result,) = json.loads(capsys.readouterr().out)
    assert result["ok"] is False
    (error,) = result["errors"]
    assert error["field"] == "seed" and error["line"] == 2 and "got -1" in error["message"]


def test_set_override_is_validated(workspace, capsys):
    assert main(["-C", str(workspace), "validate", "--set", "train.batch_size=0", "pre"]) == 2
    text = capsys.readouterr().err
    assert "--set train.batch_size=0: train.batch_size: must be > 0 (got 0)" in text


def test_unknown_spec_name(workspace, capsys):
    assert main(["-C", str(workspace), "validate", "prre"]) == 2
    assert "no spec named 'prre' (did you mean 'pre'?)" in capsys.readouterr().err


def test_outside_workspace(tmp_path, capsys):
    assert main(["-C", str(tmp_path), "validate"]) == 2
    assert "repro init" in capsys.readouterr().err
