"""The loader: positions survive `extends`, merges are deep, overrides are typed, bad YAML is refused."""

from __future__ import annotations

import pytest

from repro.errors import SpecError
from repro.spec.loader import apply_overrides, deep_merge, load_spec_file, load_yaml_file
from repro.spec.schema import SPEC_VERSION


def test_positions_of_keys_and_values(tmp_path):
    f = tmp_path / "a.yaml"
    f.write_text("train:\n  optimizer: {name: adamw, lr: 0.1}\n")
    doc = load_yaml_file(f, tmp_path)
    assert str(doc.pos(("train", "optimizer", "lr"))) == "a.yaml:2:28"
    assert str(doc.pos(("train", "optimizer", "lr"), value=True)) == "a.yaml:2:32"
    # unknown deeper path falls back to the deepest known prefix
    assert str(doc.pos(("train", "optimizer", "nope", "x"))) == "a.yaml:2:3"


def test_extends_deep_merges_and_child_wins(tmp_path):
    (tmp_path / "_base").mkdir()
    (tmp_path / "_base" / "b.yaml").write_text(
        "seed: 1\ntrain:\n  batch_size: 8\n  optimizer: {name: adamw, lr: 0.1}\n")
    child = tmp_path / "c.yaml"
    child.write_text("extends: _base/b.yaml\ntrain:\n  optimizer: {lr: 0.5}\n")
    doc = load_spec_file(child, tmp_path)
    # each file is upgraded to the current spec_version before the merge
    assert doc.data == {"seed": 1, "spec_version": SPEC_VERSION,
                        "train": {"batch_size": 8, "optimizer": {"name": "adamw", "lr": 0.5}}}
    # errors in inherited fields point into the base file; overridden ones into the child
    assert doc.pos(("seed",)).file == "_base/b.yaml"
    assert doc.pos(("train", "optimizer", "lr")).file == "c.yaml"
    assert doc.sources == ["_base/b.yaml", "c.yaml"]


def test_a_child_naming_another_source_kind_replaces_the_source(tmp_path):
    base = {"data": {"source": {"builtin": "arithmetic", "size": 10}, "format": "instruction"},
            "model": {"base": {"spec": "a"}}}
    child = {"data": {"source": {"path": "x.jsonl"}}, "model": {"base": {"hub": "o/m"}}}
    merged = deep_merge(base, child)
    assert merged["data"] == {"source": {"path": "x.jsonl"}, "format": "instruction"}
    assert merged["model"]["base"] == {"hub": "o/m"}
    # a child that only changes a setting of the same source still merges
    assert deep_merge(base, {"data": {"source": {"size": 99}}})["data"]["source"] == {
        "builtin": "arithmetic", "size": 99}


def test_extends_missing_file(tmp_path):
    f = tmp_path / "c.yaml"
    f.write_text("seed: 1\nextends: nope.yaml\n")
    with pytest.raises(SpecError, match="extends 'nope.yaml', which does not exist") as e:
        load_spec_file(f, tmp_path)
    assert e.value.pos.line == 2


def test_overrides_are_yaml_typed(tmp_path):
    f = tmp_path / "a.yaml"
    f.write_text("train: {optimizer: {lr: 0.1}}\n")
    doc = apply_overrides(load_yaml_file(f, tmp_path),
                          ["train.optimizer.lr=1e-3", "train.epochs=2", "description=x y"])
    assert doc.data["train"] == {"optimizer": {"lr": 1e-3}, "epochs": 2}
    assert doc.data["description"] == "x y"
    assert str(doc.pos(("train", "optimizer", "lr"))) == "--set train.optimizer.lr=1e-3"
    with pytest.raises(SpecError, match="expected KEY=VALUE"):
        apply_overrides(doc, ["train.epochs"])
    with pytest.raises(SpecError, match="is not a mapping"):
        apply_overrides(doc, ["description.x=1"])


def test_deep_merge_does_not_alias_inputs():
    base = {"a": {"b": [1]}}
    out = deep_merge(base, {"a": {"c": 2}})
    out["a"]["b"].append(2)
    assert base == {"a": {"b": [1]}}


@pytest.mark.parametrize("text,message", [
    ("- a\n- b\n", "must be a YAML mapping"),
    ("", "file is empty"),
    ("1: x\n", "must be a string"),
    ("a: !custom 1\n", "tag '!custom' is not allowed"),
])
def test_refused_documents(tmp_path, text, message):
    f = tmp_path / "a.yaml"
    f.write_text(text)
    with pytest.raises(SpecError, match=message):
        load_yaml_file(f, tmp_path)


def test_oversized_file(tmp_path):
    f = tmp_path / "a.yaml"
    f.write_text("a: " + "x" * 300_000 + "\n")
    with pytest.raises(SpecError, match="limited to"):
        load_yaml_file(f, tmp_path)
