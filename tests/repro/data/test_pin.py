"""`repro pin`: the current raw-data hash written into the spec, and nothing else changed."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from repro.cli import main
from repro.contract.hashing import hash_bytes, hash_path
from tests.conftest import make_workspace

ROWS = [{"instruction": f"{a}+{a}", "input": "", "output": str(2 * a)} for a in range(20)]

# comments everywhere, a long flow mapping (ruamel's dumper would re-wrap it at 80 columns),
# odd spacing inside flow collections, quoted strings and a trailing comment on the source
SPEC = """\
# A spec on local data: comments and formatting must survive `repro pin`.
spec_version: 2
seed: 7   # the seed
data:
  # where the rows come from
  source: {path: data/rows.jsonl}   # local file
  format: instruction
  split: { validation: 0.1,  test: 0.1 }
  tokenizer: {kind: bpe, vocab_size: 300}
model:
  base:
    config: {hidden_size: 32, intermediate_size: 64, num_hidden_layers: 1, num_attention_heads: 2}
train:
  method: sft
  optimizer: {name: adamw, lr: 1.0e-3}   # a long line that a dumper would happily re-wrap
  max_steps: 20
  batch_size: 8
  max_length: 32
evaluate:
  metrics: [perplexity, exact_match]
  max_examples: 20
tracking:
  mlflow: false
  experiment: 'quoted'
"""


def builtin_hash_expected(name: str, size: int, seed: int) -> str:
    """The builtin raw hash as the prepare stage defines it: canonical JSON lines."""
    from runners.data.builtin import generate

    rows = generate(name, size, seed)
    return hash_bytes("".join(
        json.dumps(r, sort_keys=True, separators=(",", ":"), ensure_ascii=True) + "\n"
        for r in rows
    ).encode())


def write_rows(path: Path, rows=ROWS) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    root = make_workspace(tmp_path, {"local.yaml": SPEC})
    write_rows(root / "data" / "rows.jsonl")
    return root


def changed_lines(before: str, after: str) -> tuple[list[str], list[str]]:
    a, b = before.splitlines(keepends=True), after.splitlines(keepends=True)
    removed = [line for line in a if line not in b]
    added = [line for line in b if line not in a]
    return removed, added


def test_pin_writes_the_hash_and_nothing_else(ws, capsys):
    spec = ws / "specs" / "local.yaml"
    before = spec.read_text()
    assert main(["-C", str(ws), "pin", "local"]) == 0
    after = spec.read_text()
    expected, _ = hash_path(ws / "data" / "rows.jsonl")
    # byte-identical apart from one new line, placed after `format`
    lines = after.splitlines(keepends=True)
    i = lines.index(f"  hash: {expected}\n")
    assert lines[i - 1] == "  format: instruction\n"
    assert "".join(lines[:i] + lines[i + 1:]) == before
    out = capsys.readouterr().out
    assert "pinned data.hash" in out and expected in out
    # the spec is still valid and now carries the pin
    assert main(["-C", str(ws), "validate"]) == 0
    # a second pin has nothing to do
    assert main(["-C", str(ws), "pin", str(ws / "specs" / "local.yaml")]) == 0
    assert "nothing written" in capsys.readouterr().out
    assert spec.read_text() == after


def test_pin_replaces_a_stale_hash_and_check_reports_it(ws, capsys):
    spec = ws / "specs" / "local.yaml"
    assert main(["-C", str(ws), "pin", "local"]) == 0
    old_hash, _ = hash_path(ws / "data" / "rows.jsonl")
    pinned_text = spec.read_text()
    assert main(["-C", str(ws), "pin", "--check", "local"]) == 0
    assert "matches" in capsys.readouterr().out

    write_rows(ws / "data" / "rows.jsonl", ROWS[:-1])
    new_hash, _ = hash_path(ws / "data" / "rows.jsonl")
    assert main(["-C", str(ws), "pin", "--check", "local"]) == 1
    err = capsys.readouterr().err
    assert old_hash in err and new_hash in err and "repro pin specs/local.yaml" in err
    assert spec.read_text() == pinned_text  # --check writes nothing

    assert main(["-C", str(ws), "--json", "pin", "local"]) == 0
    (res,) = json.loads(capsys.readouterr().out)
    assert res["status"] == "updated" and res["previous"] == old_hash
    assert res["hash"] == new_hash and res["files"][0]["path"] == "rows.jsonl"
    removed, added = changed_lines(pinned_text, spec.read_text())
    assert removed == [f"  hash: {old_hash}\n"] and added == [f"  hash: {new_hash}\n"]
    assert main(["-C", str(ws), "pin", "--check", "local"]) == 0


def test_pin_a_flow_style_data_section(tmp_path, capsys):
    text = SPEC.replace(
        "data:\n  # where the rows come from\n  source: {path: data/rows.jsonl}   # local file\n"
        "  format: instruction\n  split: { validation: 0.1,  test: 0.1 }\n"
        "  tokenizer: {kind: bpe, vocab_size: 300}\n",
        "data: {source: {path: data/rows.jsonl}, format: instruction,\n"
        "       tokenizer: {kind: bpe, vocab_size: 300} }  # flow\n",
    )
    root = make_workspace(tmp_path, {"flow.yaml": text})
    write_rows(root / "data" / "rows.jsonl")
    assert main(["-C", str(root), "pin", "flow"]) == 0
    expected, _ = hash_path(root / "data" / "rows.jsonl")
    after = (root / "specs" / "flow.yaml").read_text()
    assert after == text.replace("vocab_size: 300} }",
                                 f"vocab_size: 300}}, hash: {expected} }}")
    assert main(["-C", str(root), "validate", "flow"]) == 0
    # and replacing inside the flow mapping
    write_rows(root / "data" / "rows.jsonl", ROWS[:3])
    assert main(["-C", str(root), "pin", "flow"]) == 0
    newer, _ = hash_path(root / "data" / "rows.jsonl")
    assert (root / "specs" / "flow.yaml").read_text() == after.replace(expected, newer)


def test_pin_a_spec_whose_data_comes_from_its_base(tmp_path, capsys):
    base = SPEC.replace("spec_version: 2\n", "spec_version: 2\n", 1)
    child = "# inherits everything\nextends: _base/local.yaml\nseed: 9\n"
    root = make_workspace(tmp_path, {"_base/local.yaml": base, "child.yaml": child})
    write_rows(root / "data" / "rows.jsonl")
    assert main(["-C", str(root), "pin", "child"]) == 0
    out = capsys.readouterr().out
    assert "comes from specs/_base/local.yaml" in out and "specs/child.yaml" in out
    expected, _ = hash_path(root / "data" / "rows.jsonl")
    assert (root / "specs" / "child.yaml").read_text() == child + f"data:\n  hash: {expected}\n"
    assert (root / "specs" / "_base" / "local.yaml").read_text() == base  # base untouched
    assert main(["-C", str(root), "--json", "validate", "child"]) == 0
    from repro.spec.workspace import load_workspace

    (entry,) = load_workspace(root)
    assert entry.spec.data.hash == expected and entry.spec.data.source.path == "data/rows.jsonl"


def test_pin_a_folder_source(tmp_path, capsys):
    text = SPEC.replace("{path: data/rows.jsonl}", "{path: data/set}")
    root = make_workspace(tmp_path, {"folder.yaml": text})
    write_rows(root / "data" / "set" / "train.jsonl")
    write_rows(root / "data" / "set" / "test.jsonl", ROWS[:5])
    assert main(["-C", str(root), "--json", "pin", "folder"]) == 0
    (res,) = json.loads(capsys.readouterr().out)
    expected, files = hash_path(root / "data" / "set")
    assert res["hash"] == expected
    assert [f["path"] for f in res["files"]] == ["test.jsonl", "train.jsonl"]
    assert f"hash: {expected}" in (root / "specs" / "folder.yaml").read_text()


def test_pin_builtin_data_hashes_the_generated_rows(tmp_path, capsys):
    text = SPEC.replace("{path: data/rows.jsonl}", "{builtin: arithmetic, size: 50}")
    root = make_workspace(tmp_path, {"gen.yaml": text})
    assert main(["-C", str(root), "--json", "pin", "gen"]) == 0
    (res,) = json.loads(capsys.readouterr().out)
    assert res["hash"] == builtin_hash_expected("arithmetic", 50, 7)  # the spec's seed
    assert res["source"] == "builtin:arithmetic" and res["files"] == []
    # data.seed, when set, is the generator's seed
    assert main(["-C", str(root), "--json", "pin", "--check", "gen"]) == 0
    capsys.readouterr()
    spec = root / "specs" / "gen.yaml"
    spec.write_text(spec.read_text().replace("  format: instruction\n",
                                             "  format: instruction\n  seed: 3\n"))
    assert main(["-C", str(root), "--json", "pin", "--check", "gen"]) == 1
    (res,) = json.loads(capsys.readouterr().out)
    assert res["hash"] == builtin_hash_expected("arithmetic", 50, 3)


def test_pin_a_missing_data_file_is_a_clear_user_error(tmp_path, capsys):
    root = make_workspace(tmp_path, {"local.yaml": SPEC})
    before = (root / "specs" / "local.yaml").read_text()
    assert main(["-C", str(root), "pin", "local"]) == 2
    err = capsys.readouterr().err
    assert "specs/local.yaml: data.source.path: data/rows.jsonl does not exist" in err
    assert "Traceback" not in err
    assert (root / "specs" / "local.yaml").read_text() == before
    assert sorted(p.name for p in (root / "specs").iterdir()) == ["local.yaml"]  # no temp file


def test_pin_needs_a_spec_and_a_known_one(ws, capsys):
    assert main(["-C", str(ws), "pin"]) == 2
    assert "name the spec" in capsys.readouterr().err
    assert main(["-C", str(ws), "pin", "locl"]) == 2
    assert "did you mean 'local'" in capsys.readouterr().err


def _fake_hub_cache(cache: Path, repo: str, revision: str, files: dict[str, str]) -> Path:
    """The layout huggingface_hub keeps on disk: blobs, refs, snapshots/<revision>/."""
    folder = cache / f"datasets--{repo.replace('/', '--')}"
    snap = folder / "snapshots" / revision
    for name, content in files.items():
        (snap / name).parent.mkdir(parents=True, exist_ok=True)
        (snap / name).write_text(content, encoding="utf-8")
    (folder / "refs").mkdir(parents=True, exist_ok=True)
    (folder / "refs" / "main").write_text(revision)
    return snap


def test_pin_a_hub_source_from_the_local_cache_only(tmp_path, monkeypatch, capsys):
    rev = "a" * 40
    cache = tmp_path / "hf"
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    import huggingface_hub.constants as c

    monkeypatch.setattr(c, "HF_HUB_CACHE", str(cache))
    text = SPEC.replace("{path: data/rows.jsonl}", f"{{hub: org/rows, revision: '{rev}'}}")
    root = make_workspace(tmp_path / "ws", {"hub.yaml": text})
    before = (root / "specs" / "hub.yaml").read_text()
    assert main(["-C", str(root), "pin", "hub"]) == 2
    err = capsys.readouterr().err
    assert f"org/rows@{rev} is not in the local Hugging Face cache" in err
    assert (root / "specs" / "hub.yaml").read_text() == before

    snap = _fake_hub_cache(cache, "org/rows", rev, {"data/train.jsonl": '{"a": 1}\n',
                                                     "small/train.jsonl": '{"a": 2}\n'})
    assert main(["-C", str(root), "--json", "pin", "hub"]) == 0
    (res,) = json.loads(capsys.readouterr().out)
    expected, _ = hash_path(snap)
    assert res["hash"] == expected and res["source"] == f"hub:org/rows@{rev}"
    assert re.search(rf"^  hash: {expected}$", (root / "specs" / "hub.yaml").read_text(), re.M)
    # a subset is the snapshot's folder of that name, as the prepare stage reads it
    spec = root / "specs" / "hub.yaml"
    spec.write_text(spec.read_text().replace(f"revision: '{rev}'}}",
                                             f"revision: '{rev}', subset: small}}"))
    assert main(["-C", str(root), "--json", "pin", "hub"]) == 0
    (res,) = json.loads(capsys.readouterr().out)
    assert res["hash"] == hash_path(snap / "small")[0] != expected


H = "blake3:" + "0" * 64


@pytest.mark.parametrize("before, after", [
    # an empty or null pin is replaced in place, a trailing comment kept
    ("data:\n  source: {path: x}\n  hash:\n  format: text\n",
     f"data:\n  source: {{path: x}}\n  hash: {H}\n  format: text\n"),
    ("data:\n  source: {path: x}\n  hash: null  # later\n",
     f"data:\n  source: {{path: x}}\n  hash: {H}  # later\n"),
    # a block-style source: the new line goes after its last line, before comments
    ("data:\n  source:\n    path: x\n\n  # about the model\nmodel:\n  a: 1\n",
     f"data:\n  source:\n    path: x\n  hash: {H}\n\n  # about the model\nmodel:\n  a: 1\n"),
    # four-space indents, no newline at the end of the file (and none added)
    ("data:\n    source:\n        path: x", f"data:\n    source:\n        path: x\n    hash: {H}"),
    # `data:` with nothing under it
    ("seed: 1\ndata:   # x\nmodel: {}\n", f"seed: 1\ndata: {{hash: {H}}}   # x\nmodel: {{}}\n"),
    # a flow mapping over several lines
    ("data: {source: {path: x},\n  format: text\n}\n",
     f"data: {{source: {{path: x}},\n  format: text, hash: {H}\n}}\n"),
    # a block scalar's lines are the entry's own, even one that looks like a comment
    ("data:\n  chat_template: |\n    hi\n    # not a comment\n  # a comment\nx: 1\n",
     f"data:\n  chat_template: |\n    hi\n    # not a comment\n  hash: {H}\n  # a comment\nx: 1\n"),
    # Windows line endings stay Windows line endings
    ("data:\r\n  source: {path: x}\r\nseed: 1\r\n",
     f"data:\r\n  source: {{path: x}}\r\n  hash: {H}\r\nseed: 1\r\n"),
])
def test_set_hash_splices_one_value_into_the_text(before, after):
    from repro.data.pin import set_hash

    assert set_hash(before, H)[0] == after


def test_pin_keeps_a_crlf_spec_crlf(ws):
    spec = ws / "specs" / "local.yaml"
    spec.write_bytes(SPEC.replace("\n", "\r\n").encode())
    assert main(["-C", str(ws), "pin", "local"]) == 0
    expected, _ = hash_path(ws / "data" / "rows.jsonl")
    assert spec.read_bytes() == SPEC.replace(
        "  format: instruction\n", f"  format: instruction\n  hash: {expected}\n"
    ).replace("\n", "\r\n").encode()


def test_pin_replaces_a_malformed_pin_and_refuses_a_broken_data_section(ws, capsys):
    spec = ws / "specs" / "local.yaml"
    spec.write_text(SPEC.replace("  format: instruction\n",
                                 "  format: instruction\n  hash: md5:0123  # old style\n"))
    assert main(["-C", str(ws), "validate"]) == 2
    capsys.readouterr()
    assert main(["-C", str(ws), "pin", "local"]) == 0
    expected, _ = hash_path(ws / "data" / "rows.jsonl")
    assert f"  hash: {expected}  # old style\n" in spec.read_text()
    assert main(["-C", str(ws), "validate"]) == 0

    broken = SPEC.replace("  format: instruction\n", "  format: instructions\n")
    spec.write_text(broken)
    capsys.readouterr()
    assert main(["-C", str(ws), "pin", "local"]) == 2
    assert "specs/local.yaml:7:11: data.format:" in capsys.readouterr().err
    assert spec.read_text() == broken


def test_set_hash_refuses_an_aliased_data_section():
    from repro.data.pin import set_hash
    from repro.errors import ReproError

    with pytest.raises(ReproError, match="spec:3: data: is a YAML alias"):
        set_hash("base: &d\n  source: {path: x}\ndata: *d\n", H)


def test_pin_agrees_with_the_prepare_stage_raw_hash(tmp_path, capsys):
    """What `repro pin` writes is exactly what the prepare stage checks the pin against."""
    from runners.data.sources import load_source

    text = SPEC.replace("{path: data/rows.jsonl}", "{path: data/set}")
    root = make_workspace(tmp_path, {"folder.yaml": text,
                                     "gen.yaml": SPEC.replace("{path: data/rows.jsonl}",
                                                              "{builtin: arithmetic, size: 40}")})
    write_rows(root / "data" / "set" / "train.jsonl")
    write_rows(root / "data" / "set" / "test.jsonl", ROWS[:5])
    (root / "data" / "set" / "README.md").write_text("# not data, but part of the hash\n")
    assert main(["-C", str(root), "--json", "pin", "folder", "gen"]) == 0
    folder, gen = json.loads(capsys.readouterr().out)
    raw = load_source({"path": "data/set", "type": "auto"}, "instruction", {}, 7, root)
    assert folder["hash"] == raw.raw_hash
    assert gen["hash"] == load_source({"builtin": "arithmetic", "size": 40}, "instruction",
                                      {}, 7, root).raw_hash
