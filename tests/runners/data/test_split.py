"""Splits: a split the spec asks for that would be empty is refused with the counts."""

from __future__ import annotations

import pytest

from runners.data.split import split
from runners.errors import RunnerError


def _rows(n):
    return {"all": [{"text": f"row {i}"} for i in range(n)]}


def test_too_few_rows_for_the_requested_splits_are_refused_with_counts():
    with pytest.raises(RunnerError, match=r"2 row\(s\) after cleaning are too few .*"
                       r"\(train 2, validation 0, test 0\): validation and test would be empty; "
                       r"give it at least 6 rows"):
        split(_rows(2), 0.1, 0.1, seed=1)
    out, _ = split(_rows(6), 0.1, 0.1, seed=1)
    assert [len(out[s]) for s in ("train", "validation", "test")] == [4, 1, 1]
    out, _ = split(_rows(2), 0.0, 0.0, seed=1)  # no held-out split asked for: fine
    assert len(out["train"]) == 2
