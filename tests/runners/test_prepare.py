"""The prepare stage end to end: cleaning, splits, tokens, card, pins, atomic output."""

import json
from pathlib import Path

import pytest

from repro.contract import paths
from runners.data.examples import read_tokens
from runners.errors import RunnerError
from runners.prepare import main, prepare
from tests.runners.conftest import base_params

BPE = {"kind": "bpe", "vocab_size": 300, "min_frequency": 1}


def _files(d: Path) -> dict[str, bytes]:
    return {
        p.relative_to(d).as_posix(): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file()
    }


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _card(out: Path) -> dict:
    return json.loads((out / "card.json").read_text())


def _step(card: dict, name: str) -> dict:
    return next(s for s in card["steps"] if s["step"] == name)


def dataset(source: dict, fmt: str = "text", **extra) -> dict:
    d = {"source": source, "format": fmt, "seed": 1, "tokenizer": dict(BPE),
         "split": {"validation": 0.0, "test": 0.0}}
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(d.get(key), dict):
            d[key] = {**d[key], **value}
        else:
            d[key] = value
    return d


def write_jsonl(path: Path, rows: list) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


@pytest.mark.parametrize("key", ["grammar-test", "arith-test"])
def test_prepare_is_byte_identical_twice(tmp_path, key):
    params = base_params()["datasets"]
    prepare(params["grammar-test"], tmp_path / paths.data_dir("grammar-test"), tmp_path)
    prepare(params[key], tmp_path / "a" / key, tmp_path)
    prepare(params[key], tmp_path / "b" / key, tmp_path)
    a, b = _files(tmp_path / "a" / key), _files(tmp_path / "b" / key)
    assert a == b
    expected = {"train.jsonl", "validation.jsonl", "test.jsonl", "manifest.json", "card.json",
                "lineage.json", "tokens/train.parquet", "tokenizer/tokenizer.json"}
    assert expected <= set(a)


def test_dedupe_runs_before_split_and_is_counted(tmp_path):
    # 400 draws from a small problem space: many duplicates
    ds = base_params()["datasets"]["arith-test"] | {"tokenizer_from": None}
    out = tmp_path / "d"
    manifest = prepare(ds, out, tmp_path)
    card = _card(out)
    dropped = _step(card, "dedupe_exact")["dropped"]
    assert dropped > 0 and len(_step(card, "dedupe_exact")["samples"]) == 3
    splits = {name: _rows(out / file) for name, file in paths.SPLIT_FILES.items()}
    questions = {name: {r["instruction"] for r in rows} for name, rows in splits.items()}
    assert not questions["test"] & questions["train"]
    assert not questions["validation"] & questions["train"]
    total = sum(len(rows) for rows in splits.values())
    assert total == 400 - dropped == card["steps"][-1]["rows"]
    assert manifest.rows == card["splits"] == {n: len(r) for n, r in splits.items()}


def test_manifest_and_card_describe_the_files(tmp_path):
    from repro.contract.hashing import sha256_file

    out = tmp_path / "g"
    manifest = prepare(base_params()["datasets"]["grammar-test"], out, tmp_path)
    for rel, digest in manifest.files.items():
        assert sha256_file(out / rel) == digest
    assert manifest.format == "text" and manifest.raw_hash.startswith("blake3:")
    card = _card(out)
    assert card["source"]["kind"] == "builtin" and card["tokenizer"]["source"] == "trained"
    stats = card["tokens"]["train"]
    lengths = [len(ids) for ids, _ in read_tokens(out / "tokens/train.parquet")]
    assert stats["examples"] == len(lengths) == manifest.rows["train"]
    assert stats["max"] == max(lengths) and stats["total"] == sum(lengths)
    assert sum(b["count"] for b in stats["histogram"]) == len(lengths)


# ----------------------------------------------------------------------------- formats


def test_instruction_labels_mask_the_prompt_and_columns_map(tmp_path):
    rows = [{"question": f"{a}+{a}", "answer": str(2 * a)} for a in range(40)]
    write_jsonl(tmp_path / "qa.jsonl", rows)
    ds = dataset({"path": "qa.jsonl"}, "instruction",
                 columns={"instruction": "question", "output": "answer"})
    out = tmp_path / "o"
    prepare(ds, out, tmp_path)
    written = _rows(out / "train.jsonl")
    assert {"instruction": "3+3", "input": "", "output": "6"} in written
    from runners.models.modeling import load_tokenizer

    tok = load_tokenizer(out / "tokenizer")
    for row, (ids, labels) in zip(written, read_tokens(out / "tokens/train.parquet"),
                                  strict=True):
        labelled = [i for i, lab in zip(ids, labels, strict=True) if lab != -100]
        assert tok.decode(labelled, skip_special_tokens=True) == row["output"]
        assert labelled[-1] == tok.eos_token_id


def test_chat_labels_cover_exactly_the_assistant_turns(tmp_path):
    from runners.models.modeling import load_tokenizer

    ds = dataset({"builtin": "arithmetic-chat", "size": 60}, "chat")
    out = tmp_path / "c"
    prepare(ds, out, tmp_path)
    tok = load_tokenizer(out / "tokenizer")
    assert "generation" in tok.chat_template  # the default template travels with the data
    for row, (ids, labels) in zip(_rows(out / "train.jsonl"),
                                  read_tokens(out / "tokens/train.parquet"), strict=True):
        labelled = [i for i, lab in zip(ids, labels, strict=True) if lab != -100]
        expected = []
        for m in row["messages"]:
            if m["role"] == "assistant":
                expected += tok(m["content"], add_special_tokens=False)["input_ids"]
                expected.append(tok.eos_token_id)
        assert labelled == expected
        assert all(lab in (-100, i) for i, lab in zip(ids, labels, strict=True))


def test_chat_template_from_the_spec_is_used(tmp_path):
    template = ("{% for m in messages %}{{ m['role'] }}: {% if m['role'] == 'assistant' %}"
                "{% generation %}{{ m['content'] }}{% endgeneration %}{% else %}"
                "{{ m['content'] }}{% endif %}\n{% endfor %}")
    ds = dataset({"builtin": "arithmetic-chat", "size": 20}, "chat", chat_template=template)
    prepare(ds, tmp_path / "c", tmp_path)
    from runners.models.modeling import load_tokenizer

    assert load_tokenizer(tmp_path / "c" / "tokenizer").chat_template == template


def test_preference_rows_are_kept_untokenized(tmp_path):
    ds = dataset({"builtin": "arithmetic-preference", "size": 50}, "preference")
    out = tmp_path / "p"
    prepare(ds, out, tmp_path)
    rows = _rows(out / "train.jsonl")
    assert set(rows[0]) == {"prompt", "chosen", "rejected"}
    assert not (out / "tokens").exists() and _card(out)["tokens"] is None


# ----------------------------------------------------------------------------- cleaning


def test_cleaning_steps_are_counted_with_samples(tmp_path):
    rows = [{"text": f"row  number\t{i}  here  ", } for i in range(30)]
    rows += [{"text": None}, {"text": "   "}, {"text": "x"}, {"text": "y" * 300},
             {"text": "ﬁne ligature row"}, {"text": "row number 3 here"}]
    write_jsonl(tmp_path / "t.jsonl", rows)
    ds = dataset({"path": "t.jsonl"}, clean={"normalize": "NFKC", "min_chars": 2,
                                              "max_chars": 100})
    out = tmp_path / "o"
    prepare(ds, out, tmp_path)
    card = _card(out)
    assert _step(card, "loaded")["rows"] == 36
    assert _step(card, "normalize")["changed"] == 31  # 30 spaced rows + the ligature
    invalid = _step(card, "invalid")
    assert invalid["dropped"] == 2 and invalid["samples"][0] == '{"text":null}'
    assert _step(card, "min_chars")["dropped"] == 1
    assert _step(card, "max_chars")["dropped"] == 1
    assert _step(card, "dedupe_exact")["dropped"] == 1  # "row number 3 here", after normalising
    texts = {r["text"] for r in _rows(out / "train.jsonl")}
    assert "row number 7 here" in texts and "fine ligature row" in texts


def test_token_length_filters(tmp_path):
    rows = [{"text": "a b " * n} for n in range(1, 30)]
    write_jsonl(tmp_path / "t.jsonl", rows)
    ds = dataset({"path": "t.jsonl"}, clean={"min_tokens": 6, "max_tokens": 30})
    out = tmp_path / "o"
    prepare(ds, out, tmp_path)
    lengths = [len(ids) for ids, _ in read_tokens(out / "tokens/train.parquet")]
    assert min(lengths) >= 6 and max(lengths) <= 30
    card = _card(out)
    kept = len(lengths)
    assert _step(card, "min_tokens")["dropped"] + _step(card, "max_tokens")["dropped"] == 29 - kept


def test_near_duplicates_are_removed(tmp_path):
    base = "the quick brown fox jumps over the lazy dog near the river bank today"
    rows = [{"text": base}, {"text": base + "!"}, {"text": base.replace("today", "today.")}]
    others = ["cats sleep under warm lamps", "owls sing loudly at midnight",
              "a kettle whistles in the kitchen", "seven ships sailed past the harbour",
              "numbers never lie but people do", "rain falls softly on tin roofs",
              "my bicycle has a flat tyre again", "the library closes at nine pm",
              "green tea tastes better when cool", "jazz drummers keep impeccable time"]
    rows += [{"text": t} for t in others]
    write_jsonl(tmp_path / "t.jsonl", rows)
    ds = dataset({"path": "t.jsonl"}, clean={"dedupe": "near"})
    out = tmp_path / "o"
    prepare(ds, out, tmp_path)
    card = _card(out)
    assert _step(card, "dedupe_exact")["dropped"] == 0
    assert _step(card, "dedupe_near")["dropped"] == 2
    assert base in {r["text"] for r in _rows(out / "train.jsonl")}


def test_decontamination_drops_train_rows_overlapping_test(tmp_path):
    (tmp_path / "d").mkdir()
    shared = "alpha beta gamma delta epsilon zeta eta theta"
    write_jsonl(tmp_path / "d" / "train.jsonl",
                [{"text": f"{shared} iota"}] + [{"text": f"row {i} of plain words"} for i in range(9)])
    write_jsonl(tmp_path / "d" / "test.jsonl", [{"text": f"kappa {shared}"}])
    ds = dataset({"path": "d"}, clean={"decontaminate": {"ngram": 8}})
    out = tmp_path / "o"
    prepare(ds, out, tmp_path)
    step = _step(_card(out), "decontaminate")
    assert step["dropped"] == 1 and shared in step["samples"][0]
    assert len(_rows(out / "train.jsonl")) == 9


# ----------------------------------------------------------------------------- splits


def test_existing_splits_are_kept_and_missing_ones_carved(tmp_path):
    (tmp_path / "d").mkdir()
    write_jsonl(tmp_path / "d" / "train.jsonl", [{"text": f"train row {i}"} for i in range(80)])
    write_jsonl(tmp_path / "d" / "test.jsonl", [{"text": f"test row {i}"} for i in range(20)])
    ds = dataset({"path": "d"}, split={"validation": 0.1, "test": 0.5})
    out = tmp_path / "o"
    prepare(ds, out, tmp_path)
    rows = {n: [r["text"] for r in _rows(out / f)] for n, f in paths.SPLIT_FILES.items()}
    assert sorted(rows["test"]) == sorted(f"test row {i}" for i in range(20))
    assert len(rows["validation"]) == 10  # 10% of all 100 rows, taken from train
    assert all(t.startswith("train") for t in rows["validation"] + rows["train"])
    assert _card(out)["split_method"] == "source splits kept, validation carved from train"


def test_grouped_split_keeps_groups_together(tmp_path):
    rows = [{"text": f"doc {g} part {i}", "author": f"a{g}"} for g in range(20) for i in range(5)]
    write_jsonl(tmp_path / "t.jsonl", rows)
    ds = dataset({"path": "t.jsonl"}, split={"validation": 0.2, "test": 0.2, "group_by": "author"})
    out = tmp_path / "o"
    prepare(ds, out, tmp_path)
    groups = {n: {r["text"].split()[1] for r in _rows(out / f)}
              for n, f in paths.SPLIT_FILES.items()}
    assert not groups["train"] & groups["test"] and not groups["train"] & groups["validation"]
    assert len(groups["test"]) == 4 and len(groups["validation"]) == 4
    assert "author" not in _rows(out / "train.jsonl")[0]  # carried for the split only


def test_stratified_split_keeps_proportions(tmp_path):
    rows = [{"instruction": f"q{i}", "output": "yes" if i % 4 == 0 else "no"} for i in range(200)]
    write_jsonl(tmp_path / "t.jsonl", rows)
    ds = dataset({"path": "t.jsonl"}, "instruction",
                 split={"validation": 0.0, "test": 0.2, "stratify_by": "output"})
    out = tmp_path / "o"
    prepare(ds, out, tmp_path)
    test = _rows(out / "test.jsonl")
    assert len(test) == 40 and sum(r["output"] == "yes" for r in test) == 10


# ----------------------------------------------------------------------------- pins and errors


def test_pinned_hash_mismatch_stops_before_writing(tmp_path):
    from repro.contract.hashing import hash_file

    write_jsonl(tmp_path / "t.jsonl", [{"text": f"row {i}"} for i in range(10)])
    good = hash_file(tmp_path / "t.jsonl")
    prepare(dataset({"path": "t.jsonl"}, hash=good), tmp_path / "ok", tmp_path)
    with open(tmp_path / "t.jsonl", "r+b") as f:  # change one byte
        f.seek(3)
        f.write(b"X")
    with pytest.raises(RunnerError) as e:
        prepare(dataset({"path": "t.jsonl"}, hash=good), tmp_path / "out", tmp_path)
    msg = str(e.value)
    assert good in msg and hash_file(tmp_path / "t.jsonl") in msg and "repro pin" in msg
    assert "t.jsonl (" in msg  # the file and its size
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("content", "fmt", "message"),
    [
        (b'{"text": "a"}\n\n{"text": "b"\n', "text", r"^bad\.jsonl:3:13: invalid JSON"),
        (b'{"instruction": "1+1"}\n', "instruction",
         r"^bad\.jsonl:1:1: missing column 'output' .*data\.columns"),
        (b'{"text": "a"}\n{"text": 7}\n', "text",
         r"^bad\.jsonl:2:10: column 'text' must be a string \(got an integer: 7\)"),
        (b'{"text": "a"}\n{"text": "caf\xe9"}\n', "text",
         r"^bad\.jsonl:2:14: not valid UTF-8 \(byte 0xe9\)"),
        (b'{"text": ""}\n{"text": "  "}\n', "text", r"no rows left after cleaning"),
        (b'[1, 2]\n', "text", r"^bad\.jsonl:1:1: expected a JSON object, got a list: \[1, 2\]"),
    ],
)
def test_bad_data_names_file_line_and_column(tmp_path, content, fmt, message):
    (tmp_path / "bad.jsonl").write_bytes(content)
    with pytest.raises(RunnerError, match=message):
        prepare(dataset({"path": "bad.jsonl"}, fmt), tmp_path / "out", tmp_path)
    assert not (tmp_path / "out").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["bad.jsonl"]  # no temporary left behind


def test_wrong_type_in_csv_free_formats(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"instruction": ["1+1", "2+2"], "output": [2, 4]}),
                   tmp_path / "x.parquet")
    with pytest.raises(RunnerError, match=r"x\.parquet:row 1: column 'output' must be a string"):
        prepare(dataset({"path": "x.parquet"}, "instruction"), tmp_path / "out", tmp_path)


def test_workers_do_not_change_the_result(tmp_path):
    ds = dataset({"builtin": "arithmetic", "size": 2500}, "instruction")
    a = prepare(ds, tmp_path / "a", tmp_path)
    b = prepare(ds | {"workers": 2}, tmp_path / "b", tmp_path)
    assert a.files == b.files and a.cache_key == b.cache_key


def test_main_writes_the_contract_paths(workspace, capsys):
    assert main(["grammar-test", "--root", str(workspace)]) == 0
    assert main(["arith-test", "--root", str(workspace)]) == 0
    out = workspace / "runs" / "_data" / "arith-test"
    assert sorted(p.name for p in out.iterdir()) == [
        "card.json", "lineage.json", "manifest.json", "test.jsonl", "tokenizer", "tokens",
        "train.jsonl", "validation.jsonl",
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
        "error: missing.jsonl: data file or folder not found",
        "error: params.yaml: datasets.nope: not found (known: arith-test, grammar-test)",
    ]
