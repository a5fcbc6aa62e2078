"""`repro run` stops before DVC starts when a pinned local data source changed."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from repro.cli import main
from repro.contract.hashing import hash_path
from repro.pipeline.run import RunResult
from tests.conftest import make_workspace
from tests.repro.data.test_pin import ROWS, SPEC, write_rows


@pytest.fixture
def pinned(tmp_path: Path, monkeypatch) -> SimpleNamespace:
    """A workspace whose spec pins data/set (a folder of two files); DVC is stubbed out."""
    root = make_workspace(tmp_path, {"local.yaml": SPEC.replace("data/rows.jsonl", "data/set")})
    (root / ".dvc").mkdir()
    write_rows(root / "data" / "set" / "train.jsonl")
    write_rows(root / "data" / "set" / "extra.jsonl", ROWS[:4])
    assert main(["-C", str(root), "pin", "local"]) == 0
    calls: list = []

    def fake_reproduce(root, targets=None, force=False, **_):
        calls.append(targets)
        return RunResult()

    monkeypatch.setattr("repro.pipeline.run.reproduce", fake_reproduce)
    return SimpleNamespace(root=root, calls=calls)


def write_manifest(root: Path, key: str, raw_hash: str, raw_files: list[dict]) -> None:
    """A previous build's manifest as the prepare stage writes it (manifest v2)."""
    d = root / "runs" / "_data" / key
    d.mkdir(parents=True)
    (d / "manifest.json").write_text(json.dumps({
        "manifest_version": 2, "dataset": {"source": {"path": "data/set"}}, "format": "text",
        "source": "path:data/set", "raw_hash": raw_hash, "raw_files": raw_files,
        "pinned": raw_hash, "cache_key": None, "rows": {}, "files": {}, "data_hash": "0" * 64,
    }))


def test_a_matching_pin_lets_the_run_go_ahead(pinned, capsys):
    assert main(["-C", str(pinned.root), "run"]) == 0
    assert pinned.calls == [None]


def test_a_changed_byte_stops_the_run_with_both_hashes_and_the_file(pinned, capsys):
    pin, files = hash_path(pinned.root / "data" / "set")
    write_manifest(pinned.root, "set-0123abcd", pin, [f.as_dict() for f in files])
    spec_before = (pinned.root / "specs" / "local.yaml").read_text()
    train = pinned.root / "data" / "set" / "train.jsonl"
    data = bytearray(train.read_bytes())
    data[10] ^= 1  # one byte, same size
    train.write_bytes(bytes(data))
    new = '{"instruction": "new", "output": "row"}\n'  # a valid row: validate lets it pass
    (pinned.root / "data" / "set" / "new.jsonl").write_text(new)
    (pinned.root / "data" / "set" / "extra.jsonl").unlink()
    actual, _ = hash_path(pinned.root / "data" / "set")

    assert main(["-C", str(pinned.root), "run"]) == 2
    err = capsys.readouterr().err
    assert pinned.calls == []  # DVC never started
    assert "specs/local.yaml:" in err and "data.hash: the data of spec 'local' changed" in err
    assert f"pinned  {pin}" in err and f"actual  {actual}" in err
    size = train.stat().st_size
    assert f"changed  train.jsonl ({size:,} -> {size:,} bytes)" in err
    assert f"added    new.jsonl ({len(new)} bytes)" in err
    assert "removed  extra.jsonl" in err
    assert "runs/_data/set-0123abcd/manifest.json" in err
    assert "repro pin specs/local.yaml" in err and "no stage was run" in err
    assert "Traceback" not in err
    assert not (pinned.root / "dvc.yaml").exists()  # nothing compiled either
    assert (pinned.root / "specs" / "local.yaml").read_text() == spec_before

    # the default verb checks too, and --json says it in JSON
    assert main(["-C", str(pinned.root), "--json"]) == 2
    out = json.loads(capsys.readouterr().out)
    assert out["pins"][0]["pinned"] == pin and out["pins"][0]["actual"] == actual

    # accepting the change: pin, then the run goes ahead
    assert main(["-C", str(pinned.root), "pin", "local"]) == 0
    assert main(["-C", str(pinned.root), "run"]) == 0
    assert pinned.calls == [None]


def test_without_an_earlier_build_the_current_files_are_listed(pinned, capsys):
    write_rows(pinned.root / "data" / "set" / "train.jsonl", ROWS[:7])
    assert main(["-C", str(pinned.root), "run", "local"]) == 2
    err = capsys.readouterr().err
    assert "no earlier build of the pinned data" in err
    assert "extra.jsonl" in err and "train.jsonl" in err


def test_unchanged_files_are_not_read_again(pinned, monkeypatch):
    import repro.data.rawhash as datahash

    read: list[str] = []
    real = datahash.hash_file

    def counting(path, *a, **k):
        read.append(Path(path).name)
        return real(path, *a, **k)

    monkeypatch.setattr(datahash, "hash_file", counting)
    cache = pinned.root / ".repro" / "hash-cache.json"
    assert cache.is_file()  # `repro pin` filled it
    assert main(["-C", str(pinned.root), "run"]) == 0
    assert read == []
    write_rows(pinned.root / "data" / "set" / "extra.jsonl", ROWS[:5])
    assert main(["-C", str(pinned.root), "run"]) == 2
    assert read == ["extra.jsonl"]  # only the file whose size or mtime changed
    entries = json.loads(cache.read_text())["files"]
    assert {Path(k).name for k in entries} == {"extra.jsonl", "train.jsonl"}


def test_the_default_gitignore_ignores_the_cache(tmp_path):
    from tests.conftest import ROOT

    assert "/.repro/" in (ROOT / ".gitignore").read_text().splitlines()
    from repro.pipeline.scaffold import GITIGNORE

    assert "/.repro/" in GITIGNORE.splitlines()
