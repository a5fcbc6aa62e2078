"""Seeded train/validation/test splits: random, grouped or stratified.

Splits the source already has are kept as they are; only the missing ones are carved
out of the training rows (or out of all rows when the source has no splits at all).
"""

from __future__ import annotations

import random
from collections import defaultdict
from typing import Any

from runners.errors import RunnerError

SPLITS = ("train", "validation", "test")


def _value(row: dict[str, Any], column: str) -> str:
    value = row.get(column)
    return value if isinstance(value, str) else repr(value)


def _carve(
    rows: list[dict], fracs: dict[str, float], seed: int,
    group_by: str | None, stratify_by: str | None,
) -> dict[str, list[dict]]:
    """Split ``rows`` into train plus the held-out splits named in ``fracs``."""
    rng = random.Random(seed)
    out: dict[str, list[dict]] = {name: [] for name in ("train", *fracs)}
    if group_by:
        groups: dict[str, list[dict]] = defaultdict(list)
        for row in rows:
            groups[_value(row, group_by)].append(row)
        keys = sorted(groups)
        rng.shuffle(keys)
        targets = {name: round(len(rows) * f) for name, f in fracs.items()}
        for key in keys:
            # the first held-out split still short of its target takes the whole group
            name = next((n for n in fracs if len(out[n]) < targets[n]), "train")
            out[name].extend(groups[key])
        return out
    if stratify_by:
        strata: dict[str, list[dict]] = defaultdict(list)
        for row in rows:
            strata[_value(row, stratify_by)].append(row)
        for key in sorted(strata):
            part = _carve(strata[key], fracs, rng.randrange(2**32), None, None)
            for name, got in part.items():
                out[name].extend(got)
        for name in out:
            rng.shuffle(out[name])
        return out
    order = list(rows)
    rng.shuffle(order)
    start = 0
    for name, f in fracs.items():  # test first, then validation (the spine's order)
        n = round(len(order) * f)
        out[name] = order[start : start + n]
        start += n
    out["train"] = order[start:]
    return out


def split(
    by_source: dict[str, list[dict]], validation: float, test: float, seed: int,
    group_by: str | None = None, stratify_by: str | None = None,
) -> tuple[dict[str, list[dict]], str]:
    """The three splits, and how they were made (for the data card)."""
    for column in (group_by, stratify_by):
        if column and not any(column in r for rows in by_source.values() for r in rows):
            raise RunnerError(f"split: column '{column}' is not in the data")
    if set(by_source) == {"all"}:
        pool, present = by_source["all"], {}
    else:
        pool = by_source.get("train", [])
        present = {k: v for k, v in by_source.items() if k != "train"}
    fracs = {name: f for name, f in (("test", test), ("validation", validation))
             if name not in present and f > 0}
    if fracs and present:
        # carve from train the share of the whole data set that the spec asks for
        total = len(pool) + sum(len(v) for v in present.values())
        fracs = {n: min(0.9, f * total / max(len(pool), 1)) for n, f in fracs.items()}
    out = _carve(pool, fracs, seed, group_by, stratify_by)
    out.update(present)
    for name in SPLITS:
        out.setdefault(name, [])
    empty = [name for name in SPLITS if (name == "train" or name in fracs) and not out[name]]
    if empty:
        from repro.spec.datafiles import min_rows

        counts = ", ".join(f"{name} {len(out[name])}" for name in SPLITS if name in out)
        raise RunnerError(
            f"split: {len(pool)} row(s) after cleaning are too few for the requested splits "
            f"({counts}): {' and '.join(empty)} would be empty; give it at least "
            f"{min_rows(validation, test)} rows, or set data.split.{empty[-1]}: 0"
            if empty[-1] != "train" else
            f"split: no rows left for train ({len(pool)} rows after cleaning; {counts})")
    how = "from the source" if present and not fracs else (
        "source splits kept, " + ", ".join(fracs) + " carved from train" if present else
        "grouped by " + group_by if group_by else
        "stratified by " + stratify_by if stratify_by else "random"
    )
    return {name: out[name] for name in SPLITS}, how
