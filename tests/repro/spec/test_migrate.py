"""Older spec versions load: migrations run before validation."""

from __future__ import annotations

from pathlib import Path

import pytest

from repro.errors import SpecErrors
from repro.spec.loader import load_spec_file
from repro.spec.migrate import upgrade
from repro.spec.schema import SPEC_VERSION
from repro.spec.validate import validate_doc

V1 = """\
spec_version: 1
data:
  source: {builtin: arithmetic, size: 100}
  format: instruction
  clean: {dedupe: false, min_chars: 2}
model:
  base: {hub: org/model}
train: {method: sft, max_steps: 5}
"""


def _load(tmp_path: Path, text: str):
    f = tmp_path / "s.yaml"
    f.write_text(text)
    return load_spec_file(f, tmp_path)


def test_v1_spec_is_upgraded_on_load(tmp_path):
    spec = validate_doc(_load(tmp_path, V1))
    assert spec.spec_version == SPEC_VERSION
    assert spec.data.clean.dedupe == "none"
    assert spec.data.clean.min_chars == 2


def test_missing_version_counts_as_v1_and_new_values_survive():
    doc = {"data": {"clean": {"dedupe": True}}}
    assert upgrade(doc) == ["data.clean.dedupe: true -> exact", "spec_version: 1 -> 2"]
    assert doc == {"data": {"clean": {"dedupe": "exact"}}, "spec_version": 2}
    already = {"spec_version": 1, "data": {"clean": {"dedupe": "near"}}}
    upgrade(already)
    assert already["data"]["clean"]["dedupe"] == "near"


def test_current_version_is_untouched():
    doc = {"spec_version": SPEC_VERSION, "data": {"clean": {"dedupe": True}}}
    assert upgrade(doc) == []
    assert doc["data"]["clean"]["dedupe"] is True


def test_future_version_is_an_error(tmp_path):
    with pytest.raises(SpecErrors) as e:
        validate_doc(_load(tmp_path, V1.replace("spec_version: 1", "spec_version: 9")))
    err = e.value.errors[0]
    assert err.field == "spec_version"
    assert err.pos.line == 1
