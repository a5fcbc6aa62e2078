import json
from pathlib import Path

import pytest

from repro import paths
from runners.errors import RunnerError
from runners.prepare import main, prepare
from tests.runners.conftest import base_params


def _files(d: Path) -> dict[str, bytes]:
    return {
        p.relative_to(d).as_posix(): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file()
    }


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.mark.parametrize("key", ["grammar-test", "arith-test"])
def test_prepare_is_byte_identical_twice(tmp_path, key):
    dataset = base_params()["datasets"][key]
    prepare(dataset, tmp_path / "a" / key, tmp_path)
    prepare(dataset, tmp_path / "b" / key, tmp_path)
    a, b = _files(tmp_path / "a" / key), _files(tmp_path / "b" / key)
    assert a == b
    expected = {"train.jsonl", "validation.jsonl", "test.jsonl", "manifest.json"}
    assert expected <= set(a)
    assert ("tokenizer/tokenizer.json" in a) == (key == "grammar-test")


def test_dedupe_runs_before_split(tmp_path):
    # 400 draws from a small problem space: many duplicates
    dataset = base_params()["datasets"]["arith-test"]
    out = tmp_path / "d"
    manifest = prepare(dataset, out, tmp_path)
    assert manifest["clean"]["dropped_duplicates"] > 0
    splits = {name: _rows(out / file) for name, file in paths.SPLIT_FILES.items()}
    questions = {name: {r["instruction"] for r in rows} for name, rows in splits.items()}
    assert not questions["test"] & questions["train"]
    assert not questions["validation"] & questions["train"]
    assert not questions["test"] & questions["validation"]
    total = sum(len(rows) for rows in splits.values())
    assert total == manifest["raw_rows"] - manifest["clean"]["dropped_duplicates"]
    assert manifest["rows"] == {name: len(rows) for name, rows in splits.items()}


def test_manifest_hashes_the_files(tmp_path):
    from runners.fileio import sha256_file

    out = tmp_path / "g"
    manifest = prepare(base_params()["datasets"]["grammar-test"], out, tmp_path)
    for rel, digest in manifest["files"].items():
        assert sha256_file(out / rel) == digest
    assert manifest["format"] == "text"
    assert manifest["dataset"] == base_params()["datasets"]["grammar-test"]
    assert len(manifest["data_hash"]) == 64


def test_local_jsonl_with_min_chars(tmp_path):
    data = tmp_path / "data" / "x.jsonl"
    data.parent.mkdir()
    lines = [{"text": f"sentence number {i} is here"} for i in range(20)]
    lines += [{"text": "hi"}, {"text": "sentence number 3 is here"}]
    data.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    dataset = {
        "source": {"path": "data/x.jsonl"},
        "format": "text",
        "seed": 1,
        "clean": {"dedupe": "exact", "min_chars": 5},
        "split": {"validation": 0.1, "test": 0.1},
        "tokenizer": None,
    }
    manifest = prepare(dataset, tmp_path / "out", tmp_path)
    assert manifest["clean"] == {"dropped_short": 1, "dropped_duplicates": 1}
    assert sum(manifest["rows"].values()) == 20
    assert manifest["source"] == "path:data/x.jsonl"


def _local_dataset(tmp_path: Path, text: str, fmt: str = "instruction") -> dict:
    (tmp_path / "bad.jsonl").write_text(text)
    return {
        "source": {"path": "bad.jsonl"},
        "format": fmt,
        "seed": 1,
        "clean": {"dedupe": "exact", "min_chars": 1},
        "split": {"validation": 0.0, "test": 0.0},
        "tokenizer": None,
    }


def test_malformed_jsonl_names_file_and_line(tmp_path):
    good = json.dumps({"instruction": "1+1", "output": "2"})
    dataset = _local_dataset(tmp_path, f"{good}\n\n{good[:-3]}\n")
    with pytest.raises(RunnerError, match=r"^bad\.jsonl:3: invalid JSON"):
        prepare(dataset, tmp_path / "out", tmp_path)
    assert not (tmp_path / "out").exists()


def test_missing_column_names_file_line_and_column(tmp_path):
    dataset = _local_dataset(tmp_path, json.dumps({"instruction": "1+1"}) + "\n")
    with pytest.raises(RunnerError, match=r"^bad\.jsonl:1: missing column 'output'"):
        prepare(dataset, tmp_path / "out", tmp_path)


def test_main_writes_the_contract_paths(workspace, capsys):
    assert main(["arith-test", "--root", str(workspace)]) == 0
    out = workspace / "runs" / "_data" / "arith-test"
    assert sorted(p.name for p in out.iterdir()) == [
        "manifest.json",
        "test.jsonl",
        "train.jsonl",
        "validation.jsonl",
    ]
    assert "prepared arith-test" in capsys.readouterr().out


def test_main_errors_are_one_line(workspace, capsys):
    params = base_params()
    params["datasets"]["arith-test"]["source"] = {"path": "missing.jsonl"}
    from tests.runners.conftest import write_params

    write_params(workspace, params)
    assert main(["arith-test", "--root", str(workspace)]) == 1
    assert main(["nope", "--root", str(workspace)]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err == [
        "error: missing.jsonl: data file not found",
        "error: params.yaml: datasets.nope: not found (known: arith-test, grammar-test)",
    ]
