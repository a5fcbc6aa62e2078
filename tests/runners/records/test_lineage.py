"""Lineage on records the runners really write: two clean builds are identical, and
changing one input (a spec field, a data byte, a package in env.lock, the seed) makes
`repro diff` name exactly that input. Stages run in-process to keep this in seconds."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from repro.contract import envlock, paths
from repro.pipeline.compiler import compile_workspace
from repro.results.diff import compare
from repro.results.result import load_result
from repro.spec.workspace import load_workspace
from runners.evaluate import evaluate
from runners.prepare import prepare
from runners.train import train
from tests.specs import spec, write_specs

SPEC = spec("pretrain", {"seed": 11, "data.source": {"path": "data/corpus.jsonl"},
                        "train.max_steps": 12, "train.max_length": 32,
                        "evaluate.max_examples": 10, "evaluate.compare_base": False})
WORDS = ["the", "cat", "dog", "sat", "on", "a", "mat", "ran", "to", "big", "red", "house"]


def corpus() -> str:
    rows = []
    for i in range(240):
        words = [WORDS[(i * 7 + j * 3) % len(WORDS)] for j in range(4 + i % 5)]
        rows.append(json.dumps({"text": " ".join(words) + f" {i % 13}."}))
    return "\n".join(rows) + "\n"


def make(ws: Path) -> Path:
    write_specs(ws, {"s": SPEC})
    (ws / "data").mkdir()
    (ws / "data/corpus.jsonl").write_text(corpus())
    (ws / paths.ENV_LOCK).write_text(envlock.render())
    return ws


def build(ws: Path) -> None:
    """What `repro` does, minus DVC: compile, then prepare, train and evaluate in order."""
    compiled = compile_workspace(ws, load_workspace(ws))
    (ws / paths.PARAMS_FILE).write_text(compiled.params_yaml)
    params = yaml.safe_load(compiled.params_yaml)
    for key, dataset in params["datasets"].items():
        prepare(dataset, ws / paths.data_dir(key), ws)
    for name, entry in params["specs"].items():
        train(entry, name, ws)
        evaluate(entry, name, ws)


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    ws = make(tmp_path_factory.mktemp("a") / "ws")
    build(ws)
    return ws


def variant(built: Path, tmp_path: Path, change) -> Path:
    ws = tmp_path / "ws"
    shutil.copytree(built, ws, ignore=shutil.ignore_patterns("runs"))
    change(ws)
    build(ws)
    return ws


def diff_inputs(a: Path, b: Path) -> tuple[list[str], object]:
    d = compare(load_result(str(a / "runs/s")), load_result(str(b / "runs/s")))
    return [i["key"] for i in d.inputs], d


def test_two_clean_builds_are_identical_bit_for_bit(built, tmp_path):
    again = variant(built, tmp_path, lambda ws: None)
    keys, d = diff_inputs(built, again)
    assert keys == [] and d.outputs == [] and d.verdict == "identical"
    # the lineage records are DVC outs: identical bytes, so dvc.lock does not churn
    for rel in ("runs/s/train.lineage.json", "runs/s/evaluate.lineage.json",
                "runs/s/model/model.safetensors", "runs/s/metrics.json"):
        assert (built / rel).read_bytes() == (again / rel).read_bytes(), rel
    # ... while the run records (times) differ
    assert (built / "runs/s/train.run.json").read_bytes() != (again / "runs/s/train.run.json"
                                                              ).read_bytes()


def _respec(paths: dict):
    """A change that rewrites specs/s.yaml with ``paths`` (dotted) set."""
    return lambda ws: write_specs(ws, {"s": spec(SPEC, paths)})


def _edit(rel: str, old: str, new: str):
    def change(ws: Path) -> None:
        text = (ws / rel).read_text()
        assert old in text
        (ws / rel).write_text(text.replace(old, new, 1))
    return change


def test_a_spec_field_change_is_named(built, tmp_path):
    b = variant(built, tmp_path, _respec({"train.optimizer.lr": 4.0e-3}))
    keys, d = diff_inputs(built, b)
    assert keys == ["spec.train.optimizer.lr"]
    assert any(o["key"] == "train:model" for o in d.outputs)
    assert any(m["key"] == "metrics.perplexity" and m["delta"] for m in d.metrics)


def test_a_data_byte_change_is_named(built, tmp_path):
    b = variant(built, tmp_path, _edit("data/corpus.jsonl", "ran red cat", "ran red bat"))
    keys, _ = diff_inputs(built, b)
    assert keys == ["data.raw_hash"]


def test_a_package_version_in_env_lock_is_named(built, tmp_path, capsys):
    version = envlock.installed()["numpy"]
    b = variant(built, tmp_path, _edit(paths.ENV_LOCK, f"numpy=={version}", "numpy==0.0.1"))
    keys, d = diff_inputs(built, b)
    assert keys == ["env.numpy"]
    assert d.inputs[0]["a"] == version and d.inputs[0]["b"] == "0.0.1"
    # the installed numpy is not the locked one: the stage says so, the run record keeps it
    assert "installed packages differ from env.lock: numpy 0.0.1 (lock)" in capsys.readouterr().err
    run = json.loads((b / "runs/s/train.run.json").read_text())
    assert run["drift_from_lock"] == {"numpy": ["0.0.1", version]}


def test_a_seed_change_is_named(built, tmp_path):
    b = variant(built, tmp_path, _respec({"seed": 12}))
    keys, d = diff_inputs(built, b)
    assert keys == ["spec.seed"]
    assert any(o["key"] == "data.prepared_hash" for o in d.outputs)  # the split moved


def test_record_contents(built):
    rec = json.loads((built / "runs/s/train.lineage.json").read_text())
    assert rec["lineage_version"] == 3 and rec["stage"] == "train"
    assert rec["environment"]["lock"]["path"] == "env.lock"
    assert rec["environment"]["packages"]["torch"].startswith("2.13.0")
    assert set(rec["determinism"]["seeds"]) >= {"python", "numpy", "torch", "data_order",
                                                 "split", "dropout"}
    assert rec["determinism"]["allowed_nondeterminism"]
    assert "runners/train.py" in rec["code"]["sources"]
    assert rec["inputs"]["tokenizer"]["from"] == "data"
    prep = json.loads(next((built / "runs/_data").glob("*/lineage.json")).read_text())
    assert prep["inputs"]["raw"]["path"] == "data/corpus.jsonl"
    run = json.loads((built / "runs/s/train.run.json").read_text())
    assert {"cpu", "cpu_count", "gpus", "device_count", "torch_threads"} <= set(run["hardware"])
    assert not any(k in rec for k in ("started", "ended", "duration_s", "mlflow_run_id"))


def test_the_contract_models_read_back_what_the_runners_wrote(built):
    """Writer and readers share repro.contract.records: every record the stages wrote loads
    as its model (current version, nothing upgraded) and dumps to the very same bytes."""
    from repro.contract.records import (
        LINEAGE_VERSION,
        DataCard,
        Manifest,
        PrepareLineage,
        RunRecord,
        StageLineage,
        load_lineage,
    )

    data = next((built / "runs/_data").iterdir())
    s = built / "runs/s"
    for path, load, model in (
        (data / "manifest.json", Manifest.load, Manifest),
        (data / "card.json", DataCard.load, DataCard),
        (data / "lineage.json", load_lineage, PrepareLineage),
        (s / "train.lineage.json", load_lineage, StageLineage),
        (s / "evaluate.lineage.json", load_lineage, StageLineage),
        (s / "train.run.json", RunRecord.load, RunRecord),
        (s / "evaluate.run.json", RunRecord.load, RunRecord),
    ):
        text = path.read_text()
        record = load(json.loads(text))
        assert isinstance(record, model) and record.to_json() == text, path
    train = load_lineage(json.loads((s / "train.lineage.json").read_text()))
    assert train.lineage_version == LINEAGE_VERSION
    assert train.inputs.data.raw_hash.startswith("blake3:")
    prep = load_lineage(json.loads((data / "lineage.json").read_text()))
    assert prep.inputs.raw.hash == train.inputs.data.raw_hash
