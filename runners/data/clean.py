"""Cleaning steps, each counted for the data card.

Rows travel as ``(split, row)`` pairs so a source's own splits survive cleaning. Every
step returns the rows it keeps and a ``Step`` (rows left, rows dropped or changed, up to
three samples of what it dropped). Duplicates keep the copy in the evaluation splits
(test, then validation) over the training one, so a test question never stays in train.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from repro.contract.fsio import canonical_json
from runners.data.prompting import full_text

Pair = tuple[str, dict[str, Any]]
KEEP_ORDER = {"test": 0, "validation": 1, "train": 2, "all": 3}
N_SAMPLES = 3
SAMPLE_CHARS = 200
_SPACES = re.compile(r"[ \t\f\v\u00a0]+")


@dataclass
class Step:
    step: str
    rows: int
    dropped: int | None = None
    changed: int | None = None
    samples: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"step": self.step, "rows": self.rows}
        if self.changed is not None:
            out["changed"] = self.changed
        if self.dropped is not None:
            out["dropped"] = self.dropped
            out["samples"] = self.samples
        return out


def sample(row: Any) -> str:
    text = canonical_json(row) if not isinstance(row, str) else row
    return text if len(text) <= SAMPLE_CHARS else text[: SAMPLE_CHARS - 3] + "..."


def drop_step(name: str, rows_left: int, dropped: list[Any]) -> Step:
    return Step(name, rows_left, len(dropped), samples=[sample(r) for r in dropped[:N_SAMPLES]])


def partition(pairs: list[Pair], keep: Callable[[dict], bool]) -> tuple[list[Pair], list[dict]]:
    """The pairs whose row ``keep`` accepts, and the rows it refuses."""
    kept, dropped = [], []
    for split, row in pairs:
        if keep(row):
            kept.append((split, row))
        else:
            dropped.append(row)
    return kept, dropped


def filter_rows(name: str, pairs: list[Pair], keep: Callable[[dict], bool]) -> tuple[list, Step]:
    kept, dropped = partition(pairs, keep)
    return kept, drop_step(name, len(kept), dropped)


# ----------------------------------------------------------------------------- normalise


def _norm_text(text: str, form: str | None, whitespace: bool) -> str:
    if text.isascii():  # the common case: no unicode form to apply, maybe no spaces to tidy
        if not whitespace or (
            "  " not in text and "\t" not in text and " \n" not in text and "\n " not in text
            and text == text.strip() and "\f" not in text and "\v" not in text
        ):
            return text
    elif form:
        text = unicodedata.normalize(form, text)
    if whitespace:
        text = "\n".join(_SPACES.sub(" ", line).strip() for line in text.strip().split("\n"))
    return text


def normalize(pairs: list[Pair], form: str | None, whitespace: bool) -> tuple[list, Step]:
    """Unicode normal form and whitespace (ends stripped, runs of spaces collapsed)."""
    if not form and not whitespace:
        return pairs, Step("normalize", len(pairs), changed=0)
    out, changed = [], 0
    for split, row in pairs:
        new = {}
        for key, value in row.items():
            if isinstance(value, str):
                new[key] = _norm_text(value, form, whitespace)
            elif isinstance(value, list):  # chat messages
                new[key] = [
                    {**m, "content": _norm_text(m["content"], form, whitespace)} for m in value
                ]
            else:
                new[key] = value
        changed += new != row
        out.append((split, new))
    return out, Step("normalize", len(out), changed=changed)


def drop_empty(pairs: list[Pair], fmt: str) -> tuple[list, list]:
    """Rows that normalising left empty: they join the invalid ones."""
    if fmt == "chat":
        return partition(pairs, lambda row: all(m["content"] for m in row["messages"]))
    # the optional input may be empty; a feedback label is a boolean (False is a value)
    return partition(pairs, lambda row: all(v for k, v in row.items()
                                            if k not in ("input", "label")))


# ----------------------------------------------------------------------------- dedupe


def dedupe_key(row: dict[str, Any], fmt: str) -> str:
    """What makes two rows the same example: the question, not the answer."""
    if fmt == "instruction":
        return f"{row['instruction']}\0{row['input']}"
    if fmt in ("preference", "feedback"):
        return row["prompt"]
    if fmt == "chat":
        return canonical_json(row["messages"])
    return row["text"]


def _by_mask(name: str, pairs: list[Pair], keep: list[bool]) -> tuple[list, Step]:
    kept = [p for p, k in zip(pairs, keep, strict=True) if k]
    dropped = [p[1] for p, k in zip(pairs, keep, strict=True) if not k]
    return kept, drop_step(name, len(kept), dropped)


def _eval_first(pairs: list[Pair]) -> list[int]:
    return sorted(range(len(pairs)), key=lambda i: (KEEP_ORDER.get(pairs[i][0], 9), i))


def dedupe_exact(pairs: list[Pair], fmt: str) -> tuple[list, Step]:
    seen: set[str] = set()
    keep = [False] * len(pairs)
    for i in _eval_first(pairs):
        key = dedupe_key(pairs[i][1], fmt)
        if key not in seen:
            seen.add(key)
            keep[i] = True
    return _by_mask("dedupe_exact", pairs, keep)


def _shingles(text: str, n: int) -> set[bytes]:
    text = " ".join(text.lower().split())
    if len(text) <= n:
        return {text.encode("utf-8")}
    return {text[i : i + n].encode("utf-8") for i in range(len(text) - n + 1)}


def dedupe_near(
    pairs: list[Pair], fmt: str, threshold: float, num_perm: int, ngram: int, seed: int
) -> tuple[list, Step]:
    """MinHash over character shingles with LSH (datasketch); the first of a cluster stays."""
    from datasketch import MinHash, MinHashLSH

    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    keep = [False] * len(pairs)
    for i in _eval_first(pairs):
        m = MinHash(num_perm=num_perm, seed=seed)
        m.update_batch(list(_shingles(dedupe_key(pairs[i][1], fmt), ngram)))
        if lsh.query(m):
            continue
        lsh.insert(str(i), m)
        keep[i] = True
    return _by_mask("dedupe_near", pairs, keep)


# ----------------------------------------------------------------------------- decontaminate


def _ngrams(text: str, n: int) -> set[tuple[str, ...]]:
    words = text.lower().split()
    if len(words) < n:
        return {tuple(words)} if words else set()
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def decontaminate(
    splits: dict[str, list[dict]], fmt: str, n: int
) -> tuple[dict[str, list[dict]], Step]:
    """Drop training rows sharing a word n-gram with a validation or test row."""
    held: set[tuple[str, ...]] = set()
    for name in ("validation", "test"):
        for row in splits.get(name, []):
            held |= _ngrams(full_text(row, fmt), n)
    kept, dropped = [], []
    for row in splits["train"]:
        (dropped if _ngrams(full_text(row, fmt), n) & held else kept).append(row)
    out = {**splits, "train": kept}
    return out, drop_step("decontaminate", sum(len(v) for v in out.values()), dropped)
