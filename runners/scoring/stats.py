"""Seeded bootstrap: standard errors and 95% percentile intervals of a metric over items."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

CORPUS_ITERS = 100  # corpus metrics (BLEU, chrF) recompute per resample: lm-eval caps them too


def bootstrap(items: Sequence[Any], statistic: Callable[[Sequence[Any]], float], iters: int,
              seed: int) -> dict[str, Any] | None:
    """Resample ``items`` with replacement ``iters`` times (numpy, seeded); None when off."""
    if iters <= 0 or len(items) < 2:
        return None
    import numpy as np

    rng = np.random.default_rng(seed)
    n = len(items)
    values = []
    for _ in range(iters):
        idx = rng.integers(0, n, n)
        values.append(float(statistic([items[i] for i in idx])))
    arr = np.asarray(values)
    lo, hi = np.percentile(arr, [2.5, 97.5])
    return {"stderr": round(float(arr.std(ddof=1)), 6), "ci95": [round(float(lo), 6),
                                                                 round(float(hi), 6)],
            "iters": iters, "seed": seed}


def mean(xs: Sequence[float]) -> float:
    return sum(xs) / len(xs) if xs else math.nan


def mean_bootstrap(values: Sequence[float], iters: int, seed: int) -> dict[str, Any] | None:
    """The bootstrap of a mean, vectorised (cheap for many iterations)."""
    if iters <= 0 or len(values) < 2:
        return None
    import numpy as np

    rng = np.random.default_rng(seed)
    arr = np.asarray(values, dtype=float)
    means = arr[rng.integers(0, len(arr), (iters, len(arr)))].mean(axis=1)
    lo, hi = np.percentile(means, [2.5, 97.5])
    return {"stderr": round(float(means.std(ddof=1)), 6), "ci95": [round(float(lo), 6),
                                                                   round(float(hi), 6)],
            "iters": iters, "seed": seed}
