"""Typed records (repro.contract.records): round trips, upgrades of old versions, refusals.

``v2/`` holds records the runners wrote before lineage version 3 (package and source lists
trimmed); tests/runners/test_lineage.py checks the same models on records written now.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from repro.contract.records import (
    LINEAGE_VERSION,
    DataCard,
    Manifest,
    PrepareLineage,
    RecordError,
    RunRecord,
    StageLineage,
    load_lineage,
    read_manifest,
    v1_run,
)

V2 = Path(__file__).parent / "v2"


def text(name: str) -> str:
    return (V2 / name).read_text(encoding="utf-8")


@pytest.mark.parametrize("name, model", [("manifest.json", Manifest), ("card.json", DataCard),
                                         ("train.run.json", RunRecord)])
def test_current_versions_round_trip_to_the_same_bytes(name, model):
    record = model.load(json.loads(text(name)), name)
    assert record.to_json() == text(name)
    assert model.load(record.to_dict()) == record


@pytest.mark.parametrize("name", ["train.lineage.json", "evaluate.lineage.json"])
def test_a_v2_stage_record_reads_as_v3_with_the_raw_hash_renamed(name):
    old = json.loads(text(name))
    record = load_lineage(old, name)
    assert isinstance(record, StageLineage) and record.lineage_version == LINEAGE_VERSION == 3
    assert record.inputs.data.raw_hash == old["inputs"]["data"]["raw_sha256"]
    assert record.inputs.data.raw_hash.startswith("blake3:")
    # nothing else changed: the same data, one key renamed, the version bumped
    expected = json.loads(text(name))
    expected["lineage_version"] = 3
    expected["inputs"]["data"]["raw_hash"] = expected["inputs"]["data"].pop("raw_sha256")
    assert record.to_dict() == expected
    assert load_lineage(record.to_dict()) == record  # v3 reads as itself


def test_a_v2_prepare_record_reads_as_v3():
    old = json.loads(text("prepare.lineage.json"))
    record = load_lineage(old)
    assert isinstance(record, PrepareLineage) and record.dataset.startswith("corpus-")
    assert record.inputs.raw.hash == old["inputs"]["raw"]["sha256"]
    assert "sha256" not in record.to_dict()["inputs"]["raw"]
    assert record.outputs.data_hash == old["outputs"]["data_hash"]


def test_typed_access_to_what_readers_use():
    train = load_lineage(json.loads(text("train.lineage.json")))
    ev = load_lineage(json.loads(text("evaluate.lineage.json")))
    assert train.inputs.tokenizer.from_ == "data"
    assert train.inputs.base_model.kind == "config" and train.training == {"processes": 1}
    assert ev.inputs.model.record.path == "runs/s/train.lineage.json"
    assert train.determinism.seed == 11 and train.determinism.threads == 1  # kept whole
    run = RunRecord.load(json.loads(text("train.run.json")))
    assert run.git.commit is None and run.hardware.cpu_count == 2
    assert run.belongs_to(run.record.sha256) and not run.belongs_to("0" * 64)


def test_a_v1_record_upgrades_and_gives_its_inline_run_facts():
    v1 = {"schema_version": 1, "stage": "evaluate", "spec": "s", "spec_hash": "h",
          "params": {"seed": 3}, "seed": 3,
          "data": {"key": "k", "data_hash": "d", "raw_hash": "r", "source": "builtin:x"},
          "code": {"git_commit": "c" * 40, "git_dirty": False, "git_diff_sha256": None,
                   "runners": {"runners/train.py": "f"}},
          "environment": {"versions": {"python": "3.11.7", "torch": "2.13.0"}},
          "hardware": {"platform": "Linux", "machine": "x86_64", "cpu_count": 2, "cuda": None},
          "command": "python -m runners.evaluate s", "started": "2026-01-01T00:00:00+00:00",
          "ended": "2026-01-01T00:00:01+00:00", "duration_s": 1.0,
          "base_model": {"kind": "config", "ref": "config", "revision": None},
          "evaluated_model": {"path": "runs/s/model", "sha256": "m"}, "split": "test",
          "mlflow_run_id": "abc"}
    record = load_lineage(v1)
    assert record.lineage_version == 3 and record.inputs.data.raw_hash == "r"
    assert record.inputs.model.sha256 == "m" and record.environment.packages == {"torch": "2.13.0"}
    assert record.code.sources == {"runners/train.py": "f"} and record.determinism.seed == 3
    run = RunRecord.load(v1_run(v1))
    assert run.git.commit == "c" * 40 and run.tracking.mlflow_run_id == "abc"
    assert run.hardware.machine == "x86_64"
    assert v1_run(record.to_dict()) is None


def test_a_v1_manifest_upgrades():
    v1 = {"manifest_version": 1, "dataset": {"seed": 1}, "format": "text", "source": "x",
          "raw_sha256": "ab" * 32, "raw_rows": 10, "clean": {}, "rows": {"train": 8},
          "files": {}, "data_hash": "d"}
    m = Manifest.load(v1)
    assert m.manifest_version == 2 and m.raw_hash == "ab" * 32 and m.raw_files == []


def test_newer_unknown_and_malformed_records_are_refused_with_the_reason():
    data = json.loads(text("train.lineage.json"))
    with pytest.raises(RecordError, match="version 9 was written by a newer repro"):
        load_lineage(dict(data, lineage_version=9), "x.json")
    with pytest.raises(RecordError, match="no lineage_version"):
        load_lineage({"stage": "train"}, "x.json")
    bad = json.loads(text("manifest.json"))
    bad["rows"] = {"train": "many"}
    with pytest.raises(RecordError, match=r"manifest.json: not a valid data manifest: rows.train"):
        Manifest.load(bad, "manifest.json")


def test_writers_cannot_misspell_a_field_and_always_write_the_version():
    with pytest.raises(ValidationError, match="raw_sha256"):
        Manifest(dataset={}, format="text", raw_sha256="x", data_hash="d")
    m = Manifest(dataset={}, format="text", data_hash="d")
    assert m.to_dict() == {"manifest_version": 2, "dataset": {}, "format": "text",
                           "data_hash": "d"}  # unset fields stay absent, the version is there
    assert json.loads(m.to_json()) == m.to_dict() and m.to_json().endswith("}\n")


def test_read_manifest_says_when_data_was_never_prepared(tmp_path):
    with pytest.raises(RecordError, match="prepared data not found"):
        read_manifest(tmp_path / "nothing")
    d = tmp_path / "k"
    d.mkdir()
    (d / "manifest.json").write_text(text("manifest.json"))
    m = read_manifest(d)
    assert m["format"] == "text" and m == json.loads(text("manifest.json"))
    (d / "manifest.json").write_text("{")
    with pytest.raises(RecordError, match="not JSON"):
        read_manifest(d)


def test_the_records_import_no_ml_stack():
    import subprocess
    import sys

    code = ("import sys, repro.contract.records, repro.contract.git\n"
            "print([m for m in ('torch', 'numpy', 'transformers', 'yaml', 'runners')"
            " if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
