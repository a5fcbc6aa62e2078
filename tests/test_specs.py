"""The spec builder (tests/specs.py): every method's tiny spec is valid, overrides land where
they say, and compiled params are the compiler's own."""

from __future__ import annotations

import yaml

from tests.specs import METHODS, TINY_SFT, compile_params, line_of, spec, to_yaml


def test_every_method_default_compiles():
    specs = {"pre": spec("pretrain"), **{m: spec(m) for m in METHODS if m != "pretrain"}}
    params = compile_params(specs, {"pre": "grammar-test"})
    assert [params["specs"][m]["train"]["method"] for m in METHODS if m != "pretrain"] == [
        m for m in METHODS if m != "pretrain"]
    assert params["specs"]["sft"]["data"] in params["datasets"]
    assert params["datasets"][params["specs"]["sft"]["data"]]["tokenizer_from"] == {
        "data": "grammar-test"}


def test_sections_merge_and_dotted_paths_replace():
    s = spec("sft", {"train.optimizer.lr": 5e-4, "model.base": {"path": "base"}},
             train={"optimizer": {"name": "sgd"}, "max_steps": 3})
    assert s["train"]["optimizer"] == {"name": "sgd", "lr": 5e-4}
    assert s["train"]["max_steps"] == 3 and s["model"]["base"] == {"path": "base"}
    assert spec("sft") == yaml.safe_load(TINY_SFT)  # the builder starts from the literal
    assert spec(s, {"seed": 9})["seed"] == 9 and s["seed"] == 7  # a copy


def test_yaml_keeps_the_order_of_a_spec_file():
    text = to_yaml(spec("sft", {"train.method": "dpo"}))
    assert yaml.safe_load(text)["train"]["method"] == "dpo"
    assert line_of(text, "method:") == line_of(TINY_SFT, "method:")
    assert "  source: {builtin: arithmetic, size: 300}\n" in text
