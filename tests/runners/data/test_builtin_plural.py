"""The plural (text-to-text) built-in and the agreement multiple-choice benchmark."""

from __future__ import annotations

from pathlib import Path

import pytest

from runners.data.builtin import builtin_format, generate
from runners.data.builtin.plural import AGREEMENT_FILE, agreement, agreement_jsonl

REPO = Path(__file__).resolve().parents[3]


def test_plural_rows_are_deterministic_rewrites():
    rows = generate("plural", 300, 5)
    assert rows == generate("plural", 300, 5) and rows != generate("plural", 300, 6)
    assert builtin_format("plural") == "instruction"
    for r in rows:
        s, p = r["instruction"].split(), r["output"].split()
        assert len(s) == len(p) and r["input"] == ""
        assert s != p  # something always changes: the subject noun and its verb
        assert s[0] in {"the", "a", "this", "that", "every", "one"}
    assert {"instruction": "one slow student sleeps", "input": "",
            "output": "two slow students sleep"} in generate("plural", 5, 1)


def test_agreement_benchmark_is_balanced_and_shipped_as_generated():
    rows = agreement(400, 1)
    assert sum(r["label"] for r in rows) / len(rows) == pytest.approx(0.5, abs=0.08)
    attracted = [r for r in rows if len(r["context"].split()) > 2]
    assert 0.35 < len(attracted) / len(rows) < 0.65  # about half carry an attractor noun
    for r in rows:
        assert len(r["choices"]) == 2 and r["choices"][0] != r["choices"][1]
    assert (REPO / AGREEMENT_FILE).read_text() == agreement_jsonl()
