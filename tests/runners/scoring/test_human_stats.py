"""Human-evaluation statistics against textbook values, a worked example and synthetic truth."""

from __future__ import annotations

import math
import random

import pytest

from runners.scoring import human


def test_wilson_matches_newcombes_table():
    # Newcombe (1998), Statistics in Medicine 17:857, Table I, method 3 (the Wilson score)
    assert human.wilson(81, 263) == pytest.approx((0.2553, 0.3662), abs=5e-5)
    assert human.wilson(15, 148) == pytest.approx((0.0624, 0.1605), abs=5e-5)
    assert human.wilson(0, 20) == pytest.approx((0.0, 0.1611), abs=5e-5)
    assert human.wilson(0, 0) is None


def _judgments(rows):
    return [{"item": i, "annotator": a, "verdict": v} for i, a, v in rows]


def test_cohens_kappa_worked_example():
    # the classic 2x2 example: yes/yes 20, yes/no 5, no/yes 10, no/no 15 -> kappa 0.4
    pairs = [("A", "A")] * 20 + [("A", "B")] * 5 + [("B", "A")] * 10 + [("B", "B")] * 15
    rows = []
    for item, (x, y) in enumerate(pairs, 1):
        rows += [(item, "ann1", x), (item, "ann2", y)]
    got = human.agreement(_judgments(rows))
    assert got["method"] == "cohen"
    assert got["kappa"] == pytest.approx(0.4, abs=1e-9)
    assert got["n_items"] == 50 and got["observed"] == pytest.approx(0.7)


def test_fleiss_kappa_by_hand():
    # 4 items, 3 raters: P-bar = 2/3, P-e = (25 + 25 + 4) / 144, kappa = 7/15
    rows = [(1, "a", "A"), (1, "b", "A"), (1, "c", "A"),
            (2, "a", "A"), (2, "b", "A"), (2, "c", "B"),
            (3, "a", "B"), (3, "b", "B"), (3, "c", "B"),
            (4, "a", "tie"), (4, "b", "B"), (4, "c", "tie"),
            (5, "a", "both_bad")]  # judged once: not part of agreement
    got = human.agreement(_judgments(rows))
    assert got["method"] == "fleiss" and got["raters_per_item"] == 3
    assert got["kappa"] == pytest.approx(7 / 15, abs=1e-6)
    assert got["n_items"] == 4


def test_no_agreement_without_double_judgments():
    assert human.agreement(_judgments([(1, "a", "A"), (2, "a", "B")])) is None


def test_pair_table_counts_and_win_rate():
    key = {1: {"A": "x", "B": "y"}, 2: {"A": "y", "B": "x"}, 3: {"A": "x", "B": "y"},
           4: {"A": "y", "B": "x"}, 5: {"A": "x", "B": "y"}}
    rows = [(1, "a", "A"), (2, "a", "B"), (3, "a", "B"), (4, "a", "tie"), (5, "a", "both_bad")]
    comps = human.comparisons(_judgments(rows), key)
    t = human.pair_table(comps, "x", "y")
    # x won items 1 (A) and 2 (B = x), lost item 3
    assert (t["wins"], t["losses"], t["ties"], t["both_bad"], t["n"]) == (2, 1, 1, 1, 5)
    assert t["win_rate"] == pytest.approx(2 / 3, abs=1e-6)
    lo, hi = human.wilson(2, 3)
    assert (t["win_rate_low"], t["win_rate_high"]) == (round(lo, 6), round(hi, 6))
    assert t["tie_rate"] == 0.2 and t["both_bad_rate"] == 0.2
    flipped = human.pair_table(comps, "y", "x")
    assert (flipped["wins"], flipped["losses"]) == (1, 2)


def _simulate(strengths, n, seed):
    rng = random.Random(seed)
    names = list(strengths)
    comps = []
    for k in range(n):
        a, b = rng.sample(names, 2)
        p = 1 / (1 + math.exp(strengths[b] - strengths[a]))
        score = 1.0 if rng.random() < p else 0.0
        comps.append(human.Comparison(k, "sim", a, b, score, "A" if score else "B"))
    return comps


def test_bradley_terry_recovers_synthetic_strengths():
    truth = {"strong": 1.0, "middle": 0.0, "weak": -1.0}
    comps = _simulate(truth, 3000, seed=3)
    fit = human.bradley_terry(list(truth), comps)
    assert fit["strong"] > fit["middle"] > fit["weak"]
    for name, value in truth.items():
        assert fit[name] == pytest.approx(value, abs=0.15)


def test_bootstrap_is_seeded_and_brackets_the_estimate():
    truth = {"s1": 0.8, "s2": 0.0, "s3": -0.8}
    comps = _simulate(truth, 300, seed=5)
    one = human.bt_bootstrap(list(truth), comps, rounds=60, seed=11)
    assert one == human.bt_bootstrap(list(truth), comps, rounds=60, seed=11)
    assert one != human.bt_bootstrap(list(truth), comps, rounds=60, seed=12)
    for row in one.values():
        assert row["strength_low"] <= row["strength"] <= row["strength_high"]
        assert row["elo"] == pytest.approx(1000 + 400 / math.log(10) * row["strength"], abs=0.01)
    assert one["s1"]["strength_low"] > one["s3"]["strength_high"]


def test_bradley_terry_stays_finite_when_one_system_always_wins():
    comps = [human.Comparison(k, "a", "x", "y", 1.0, "A") for k in range(20)]
    comps += [human.Comparison(20 + k, "a", "y", "z", 0.5, "tie") for k in range(5)]
    fit = human.bradley_terry(["x", "y", "z"], comps)
    assert all(math.isfinite(v) for v in fit.values())
    assert fit["x"] > fit["y"] and sum(fit.values()) == pytest.approx(0, abs=1e-9)
