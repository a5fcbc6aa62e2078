"""Human-evaluation statistics: win rates (Wilson), Bradley-Terry strengths, annotator agreement.

The libraries do the statistics: Wilson intervals and Fleiss' kappa come from statsmodels
(``proportion_confint(method="wilson")``, ``fleiss_kappa``), Cohen's kappa from scikit-learn
(``cohen_kappa_score``), and the Bradley-Terry maximum-likelihood fit is minimised by
scipy (``optimize.minimize``, L-BFGS-B, exact gradient). Bootstrap resampling uses a seeded
NumPy generator, so the same judgments and seed give the same intervals bit for bit.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

VERDICTS = ("A", "B", "tie", "both_bad")
ELO_SCALE, ELO_BASE, ELO_INIT = 400.0, 10.0, 1000.0  # Chatbot Arena's Elo-scale constants
BT_RIDGE = 1e-3  # a weak Gaussian prior: keeps strengths finite when one system always wins


@dataclass(frozen=True)
class Comparison:
    """One judgment as systems: ``first`` against ``second``, ``score`` for ``first``
    (1 win, 0 loss, 0.5 tie or both bad), with the raw verdict kept."""

    item: int
    annotator: str
    first: str
    second: str
    score: float
    verdict: str


def comparisons(judgments: Sequence[dict[str, Any]], key_items: dict[int, dict[str, str]]
                ) -> list[Comparison]:
    """Judgments (``item``, ``annotator``, ``verdict`` on sides) -> comparisons of systems."""
    out = []
    for j in judgments:
        sides = key_items[int(j["item"])]
        score = {"A": 1.0, "B": 0.0}.get(j["verdict"], 0.5)
        out.append(Comparison(int(j["item"]), j["annotator"], sides["A"], sides["B"], score,
                              j["verdict"]))
    return out


def wilson(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float] | None:
    """The Wilson score interval for ``successes`` out of ``n`` (None when n is 0)."""
    if n == 0:
        return None
    from statsmodels.stats.proportion import proportion_confint

    lo, hi = proportion_confint(successes, n, alpha=1 - confidence, method="wilson")
    return float(lo), float(hi)


def pair_table(comps: Sequence[Comparison], a: str, b: str, confidence: float = 0.95
               ) -> dict[str, Any]:
    """``a`` against ``b``: wins, losses, ties and both-bad; the win rate over decisive
    judgments (wins / (wins + losses)) with its Wilson interval; tie and both-bad rates."""
    counts = Counter()
    for c in comps:
        if {c.first, c.second} != {a, b}:
            continue
        if c.verdict in ("tie", "both_bad"):
            counts[c.verdict] += 1
        elif (c.first == a) == (c.score == 1.0):
            counts["wins"] += 1
        else:
            counts["losses"] += 1
    n = sum(counts.values())
    decisive = counts["wins"] + counts["losses"]
    ci = wilson(counts["wins"], decisive, confidence)
    return {
        "n": n, "wins": counts["wins"], "losses": counts["losses"], "ties": counts["tie"],
        "both_bad": counts["both_bad"],
        "win_rate": _r(counts["wins"] / decisive) if decisive else None,
        "win_rate_low": _r(ci[0]) if ci else None,
        "win_rate_high": _r(ci[1]) if ci else None,
        "tie_rate": _r(counts["tie"] / n) if n else None,
        "both_bad_rate": _r(counts["both_bad"] / n) if n else None,
    }


# ----------------------------------------------------------------------------- Bradley-Terry


def bradley_terry(systems: Sequence[str], comps: Sequence[Comparison]) -> dict[str, float]:
    """Maximum-likelihood log-strengths (mean 0): P(i beats j) = sigmoid(s_i - s_j); a tie
    counts as half a win each way (as Chatbot Arena counts them)."""
    import numpy as np

    index = {s: k for k, s in enumerate(systems)}
    i = np.array([index[c.first] for c in comps], dtype=np.int64)
    j = np.array([index[c.second] for c in comps], dtype=np.int64)
    y = np.array([c.score for c in comps], dtype=np.float64)
    theta = _fit(len(systems), i, j, y)
    return {s: float(theta[index[s]]) for s in systems}


def _fit(k: int, i, j, y):
    import numpy as np
    from scipy.optimize import minimize
    from scipy.special import expit, log_expit

    def nll(theta):
        d = theta[i] - theta[j]
        loss = -(y * log_expit(d) + (1 - y) * log_expit(-d)).sum() + BT_RIDGE / 2 * theta @ theta
        r = expit(d) - y  # d loss / d d
        grad = np.bincount(i, r, minlength=k) - np.bincount(j, r, minlength=k) + BT_RIDGE * theta
        return loss, grad

    res = minimize(nll, np.zeros(k), jac=True, method="L-BFGS-B",
                   options={"maxiter": 1000, "gtol": 1e-10, "ftol": 1e-15})
    return res.x - res.x.mean()


def bt_bootstrap(systems: Sequence[str], comps: Sequence[Comparison], rounds: int, seed: int,
                 confidence: float = 0.95) -> dict[str, dict[str, float]]:
    """Strengths, their Elo-scale values and percentile intervals from ``rounds`` bootstrap
    resamples of the judgments (seeded: the same inputs give the same intervals)."""
    import numpy as np

    index = {s: k for k, s in enumerate(systems)}
    i = np.array([index[c.first] for c in comps], dtype=np.int64)
    j = np.array([index[c.second] for c in comps], dtype=np.int64)
    y = np.array([c.score for c in comps], dtype=np.float64)
    point = _fit(len(systems), i, j, y)
    rng = np.random.default_rng(seed)
    samples = np.empty((rounds, len(systems)))
    for b in range(rounds):
        pick = rng.integers(0, len(comps), len(comps))
        samples[b] = _fit(len(systems), i[pick], j[pick], y[pick])
    tail = (1 - confidence) / 2 * 100
    lo, hi = np.percentile(samples, [tail, 100 - tail], axis=0)
    out = {}
    for s, k in index.items():
        out[s] = {"strength": _r(point[k]), "strength_low": _r(lo[k]), "strength_high": _r(hi[k]),
                  "elo": _r(_elo(point[k]), 2), "elo_low": _r(_elo(lo[k]), 2),
                  "elo_high": _r(_elo(hi[k]), 2)}
    return out


def _elo(theta: float) -> float:
    return ELO_INIT + ELO_SCALE / math.log(ELO_BASE) * float(theta)


# ----------------------------------------------------------------------------- agreement


def agreement(judgments: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    """Agreement on items judged more than once: Cohen's kappa when two annotators judged
    the items, Fleiss' kappa over the items with the most common number of judgments (two
    or more) when three or more annotators took part. None when no item was judged twice."""
    by_item: dict[int, dict[str, str]] = defaultdict(dict)
    for j in judgments:
        by_item[int(j["item"])][j["annotator"]] = j["verdict"]
    shared = {item: v for item, v in by_item.items() if len(v) >= 2}
    if not shared:
        return None
    annotators = sorted({a for v in shared.values() for a in v})
    if len(annotators) == 2:
        from sklearn.metrics import cohen_kappa_score

        items = sorted(shared)
        first = [shared[k][annotators[0]] for k in items]
        second = [shared[k][annotators[1]] for k in items]
        if len(set(first) | set(second)) < 2:  # all one verdict: kappa is undefined
            kappa = None
        else:
            kappa = _r(cohen_kappa_score(first, second, labels=list(VERDICTS)))
        return {"method": "cohen", "kappa": kappa, "n_items": len(items),
                "observed": _r(sum(a == b for a, b in zip(first, second, strict=True)) / len(items)),
                "annotators": annotators}
    from statsmodels.stats.inter_rater import fleiss_kappa

    per = Counter(len(v) for v in shared.values()).most_common()
    raters = max(per, key=lambda kv: (kv[1], kv[0]))[0]
    items = sorted(k for k, v in shared.items() if len(v) == raters)
    table = [[list(shared[k].values()).count(v) for v in VERDICTS] for k in items]
    used = {v for row in table for v, n in zip(VERDICTS, row, strict=True) if n}
    kappa = None if len(used) < 2 else _r(fleiss_kappa(table, method="fleiss"))
    return {"method": "fleiss", "kappa": kappa, "n_items": len(items), "raters_per_item": raters,
            "annotators": annotators}


def _r(x: float | None, digits: int = 6) -> float | None:
    if x is None:
        return None
    x = float(x)
    return None if math.isnan(x) else round(x, digits)


def score_judgments(systems: Sequence[str], judgments: Sequence[dict[str, Any]],
                    key_items: dict[int, dict[str, str]], *, bootstrap: int, seed: int,
                    confidence: float = 0.95) -> dict[str, Any]:
    """Everything the human-evaluation stage reports (its metrics file)."""
    comps = comparisons(judgments, key_items)
    pairs = {}
    for x, a in enumerate(systems):
        for b in systems[x + 1:]:
            table = pair_table(comps, a, b, confidence)
            if table["n"]:
                pairs[f"{a}_vs_{b}"] = table
    out: dict[str, Any] = {
        "systems": list(systems),
        "n_items": len({c.item for c in comps}),
        "n_judgments": len(comps),
        "annotators": sorted({c.annotator for c in comps}),
        "verdicts": {v: sum(c.verdict == v for c in comps) for v in VERDICTS},
        "confidence": confidence,
        "pairs": pairs,
        "agreement": agreement(judgments),
    }
    if len(systems) > 2 and comps:
        out["bradley_terry"] = {"bootstrap_rounds": bootstrap, "seed": seed,
                                "systems": bt_bootstrap(systems, comps, bootstrap, seed, confidence)}
    return out
