"""The feedback format (prompt/completion/label): the built-in generator, labels read from
files in their usual spellings, column mapping, cleaning that keeps false labels, and a
prepared data set that exact match scores on its desirable rows."""

from __future__ import annotations

import json

import pytest

from runners.data import builtin
from runners.data.sources import load_source
from runners.errors import RunnerError


def test_builtin_feedback_is_derived_from_the_pairs_and_about_balanced():
    rows = builtin.generate("arithmetic-feedback", 400, 3)
    assert rows == builtin.generate("arithmetic-feedback", 400, 3)
    pairs = builtin.generate("arithmetic-preference", 400, 3)
    for row, pair in zip(rows, pairs, strict=True):
        assert row["prompt"] == pair["prompt"]
        assert row["completion"] == (pair["chosen"] if row["label"] else pair["rejected"])
        a, op, b = row["prompt"].partition("+") if "+" in row["prompt"] else (
            row["prompt"].partition("-"))
        right = int(a) + int(b) if op == "+" else int(a) - int(b)
        assert (int(row["completion"]) == right) is row["label"]
    share = sum(r["label"] for r in rows) / len(rows)
    assert 0.4 < share < 0.6


def test_labels_in_files_and_column_mapping(tmp_path):
    rows = [{"q": "1+1", "a": "2", "ok": v} for v in
            (True, False, 1, 0)] + [{"q": "1+1", "a": "3", "ok": s} for s in
                                    ("desirable", "Undesirable", "yes", "false")]
    lines = [json.dumps(r) for r in rows[:2]]
    (tmp_path / "bools.jsonl").write_text("\n".join(lines) + "\n")
    (tmp_path / "ints.jsonl").write_text("\n".join(json.dumps(r) for r in rows[2:4]) + "\n")
    (tmp_path / "words.jsonl").write_text("\n".join(json.dumps(r) for r in rows[4:]) + "\n")
    columns = {"prompt": "q", "completion": "a", "label": "ok"}
    got = []
    for name in ("bools", "ints", "words"):
        raw = load_source({"path": f"{name}.jsonl", "type": "auto"}, "feedback", columns, 0,
                          tmp_path)
        got += [r["label"] for r in raw.splits["all"]]
    assert got == [True, False, True, False, True, False, True, False]


def test_a_label_that_is_not_binary_is_named(tmp_path):
    (tmp_path / "f.jsonl").write_text('{"prompt": "1+1", "completion": "2", "label": "maybe"}\n')
    with pytest.raises(RunnerError, match="column 'label' must be a boolean label.*maybe"):
        load_source({"path": "f.jsonl", "type": "auto"}, "feedback", {}, 0, tmp_path)


def test_prepare_keeps_undesirable_rows(tmp_path):
    from runners.prepare import prepare

    dataset = {"source": {"builtin": "arithmetic-feedback", "size": 200}, "format": "feedback",
               "seed": 1}
    manifest = prepare(dataset, tmp_path / "fb", tmp_path)
    rows = [json.loads(x) for x in (tmp_path / "fb" / "train.jsonl").read_text().splitlines()]
    assert set(rows[0]) == {"prompt", "completion", "label"}
    assert any(not r["label"] for r in rows) and any(r["label"] for r in rows)
    card = json.loads((tmp_path / "fb" / "card.json").read_text())
    invalid = next(s for s in card["steps"] if s["step"] == "invalid")
    assert invalid.get("dropped", 0) == 0
    assert sum(manifest.rows.values()) == len({r["prompt"] for r in builtin.generate(
        "arithmetic-feedback", 200, 1)})  # one row per question (dedupe on the prompt)


def test_exact_match_rows_of_feedback_are_the_desirable_ones():
    from runners.data.formats import answer_rows, feedback_example, prompt_and_answer

    rows = builtin.generate("arithmetic-feedback", 20, 2)
    kept = answer_rows(rows, "feedback")
    assert kept == [r for r in rows if r["label"]]
    prompt, answer = prompt_and_answer(kept[0], "feedback")
    assert prompt == [{"role": "user", "content": kept[0]["prompt"]}]
    assert answer == kept[0]["completion"]
    ex = feedback_example(rows[0])
    assert ex["completion"] == [{"role": "assistant", "content": rows[0]["completion"]}]
    assert ex["label"] is rows[0]["label"]
