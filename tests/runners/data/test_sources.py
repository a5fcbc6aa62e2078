"""Every source kind loads through the same path: files, folders, a hub snapshot, builtins."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from repro.contract.hashing import hash_file, hash_path
from runners.data.sources import builtin_hash, load_source
from runners.errors import RunnerError

ROWS = [{"instruction": f"{i}+1", "output": str(i + 1)} for i in range(5)]


def _write(tmp_path: Path, name: str) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / name
    if name.endswith(".jsonl"):
        path.write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    elif name.endswith(".json"):
        path.write_text(json.dumps(ROWS))
    elif name.endswith(".csv"):
        path.write_text("instruction,output\n" + "".join(f"{r['instruction']},{r['output']}\n"
                                                         for r in ROWS))
    elif name.endswith(".parquet"):
        pq.write_table(pa.Table.from_pylist(ROWS), path)
    return path


@pytest.mark.parametrize("name", ["x.jsonl", "x.json", "x.csv", "x.parquet"])
def test_tabular_files_give_the_same_rows(tmp_path, name):
    path = _write(tmp_path, name)
    raw = load_source({"path": name, "type": "auto"}, "instruction", {}, 0, tmp_path)
    assert raw.splits == {"all": [{"instruction": r["instruction"], "input": "",
                                   "output": r["output"]} for r in ROWS]}
    assert raw.raw_hash == hash_file(path) and raw.kind == "path"
    assert raw.files[0].path == name and raw.files[0].size == path.stat().st_size


def test_plain_text_per_line_and_per_file(tmp_path):
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "a.txt").write_text("first line\nsecond line\n")
    (tmp_path / "corpus" / "b.txt").write_text("third line\n")
    per_line = load_source({"path": "corpus", "type": "auto", "text_unit": "line"}, "text", {},
                           0, tmp_path)
    assert [r["text"] for r in per_line.splits["all"]] == ["first line", "second line",
                                                           "third line"]
    per_file = load_source({"path": "corpus", "type": "auto", "text_unit": "file"}, "text", {},
                           0, tmp_path)
    assert [r["text"].strip() for r in per_file.splits["all"]] == [
        "first line\nsecond line", "third line"]
    assert per_line.raw_hash == hash_path(tmp_path / "corpus")[0]


def test_folder_split_files_become_splits(tmp_path):
    (tmp_path / "d").mkdir()
    _write(tmp_path / "d", "x.jsonl").rename(tmp_path / "d" / "train.jsonl")
    _write(tmp_path / "d", "x.jsonl").rename(tmp_path / "d" / "validation.jsonl")
    raw = load_source({"path": "d", "type": "auto"}, "instruction", {}, 0, tmp_path)
    assert set(raw.splits) == {"train", "validation"}
    (tmp_path / "d" / "notes.jsonl").write_text(json.dumps(ROWS[0]) + "\n")
    with pytest.raises(RunnerError, match="name every file train/validation/test, or none"):
        load_source({"path": "d", "type": "auto"}, "instruction", {}, 0, tmp_path)


def test_builtin_hash_is_the_hash_of_its_rows():
    from repro.contract.hashing import hash_bytes
    from runners.data.builtin import generate

    rows = generate("arithmetic", 20, 3)
    text = "".join(json.dumps(r, sort_keys=True, separators=(",", ":")) + "\n" for r in rows)
    assert builtin_hash("arithmetic", 20, 3) == hash_bytes(text.encode())
    raw = load_source({"builtin": "arithmetic", "size": 20}, "instruction", {}, 3, Path("."))
    assert raw.raw_hash == builtin_hash("arithmetic", 20, 3) and raw.splits["all"] == rows


def test_builtin_format_mismatch_is_an_error():
    with pytest.raises(RunnerError, match="gives preference data, but the format is 'chat'"):
        load_source({"builtin": "arithmetic-preference", "size": 5}, "chat", {}, 0, Path("."))


def test_hub_dataset_with_pinned_revision_loads_offline_from_the_hf_cache(tmp_path):
    """The real hub path: snapshot_download resolves `org/name` at a revision from the HF
    cache (laid out as a download would leave it), with HF_HUB_OFFLINE=1, in a fresh process."""
    sha = "89abcdef0123456789abcdef0123456789abcdef"
    snap = tmp_path / "hf" / "datasets--repro-test--qa" / "snapshots" / sha
    (snap / "data").mkdir(parents=True)
    _write(snap / "data", "x.jsonl").rename(snap / "data" / "train.jsonl")
    _write(snap / "data", "x.jsonl").rename(snap / "data" / "test.jsonl")
    (snap / "README.md").write_text("# qa\nA data card; not data.\n")
    (snap.parent.parent / "refs").mkdir()
    (snap.parent.parent / "refs" / "main").write_text(sha)
    code = (
        "from pathlib import Path\n"
        "from runners.data.sources import load_source\n"
        f"raw = load_source({{'hub': 'repro-test/qa', 'revision': '{sha}', 'subset': None}},"
        " 'instruction', {}, 0, Path('.'))\n"
        "print(raw.origin, sorted(raw.splits), len(raw.splits['train']), raw.raw_hash)\n"
    )
    env = {"HF_HUB_OFFLINE": "1", "HF_HUB_CACHE": str(tmp_path / "hf"), "PATH": "/usr/bin:/bin",
           "HF_HUB_DISABLE_TELEMETRY": "1", "HF_HOME": str(tmp_path / "home")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         cwd=Path(__file__).parents[3])
    assert out.returncode == 0, out.stderr
    origin, rest = out.stdout.split(" ", 1)
    assert origin == f"hub:repro-test/qa@{sha}"
    assert rest.split()[:3] == ["['test',", "'train']", "5"]
    assert rest.split()[3] == hash_path(snap)[0]
    # an unknown revision is an error naming the data set, not a silent substitute
    bad = code.replace(sha, "f" * 40)
    out = subprocess.run([sys.executable, "-c", bad], capture_output=True, text=True, env=env,
                         cwd=Path(__file__).parents[3])
    assert out.returncode != 0 and "repro-test/qa@ffff" in out.stderr


def test_unknown_extension_asks_for_a_type(tmp_path):
    shutil.copy(_write(tmp_path, "x.jsonl"), tmp_path / "x.data")
    with pytest.raises(RunnerError, match="set data.source.type"):
        load_source({"path": "x.data", "type": "auto"}, "instruction", {}, 0, tmp_path)
    raw = load_source({"path": "x.data", "type": "jsonl"}, "instruction", {}, 0, tmp_path)
    assert len(raw.splits["all"]) == 5
