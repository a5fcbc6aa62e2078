"""Seeds pin every source of randomness; full determinism is an option the record names."""

from __future__ import annotations

import torch

from repro.spec.sections.determinism import Determinism
from runners.training.seeding import determinism, report, seed_everything


def _draws(seed: int, full: bool = False):
    g = seed_everything(seed, full=full)
    drop = torch.nn.Dropout(0.5)
    drop.train()
    import random

    import numpy as np

    return (random.random(), float(np.random.rand()), torch.randperm(10, generator=g).tolist(),
            drop(torch.ones(8)).tolist())


def test_same_seed_same_draws_everywhere():
    assert _draws(3) == _draws(3)
    assert _draws(3) != _draws(4)


def test_full_determinism_switches_torch_and_is_recorded():
    try:
        _draws(5, full=True)
        r = report(dataset_seed=9)
        assert r["full"] and r["torch_deterministic_algorithms"]
        assert r["seeds"]["split"] == 9 and r["seeds"]["dropout"] == 5
        assert _draws(5, full=True) == _draws(5, full=False)  # on CPU: same numbers
    finally:
        seed_everything(0, full=False)
    r = report()
    assert not r["full"] and not r["torch_deterministic_algorithms"]
    assert any("threads" in a for a in r["allowed_nondeterminism"])
    assert determinism({"determinism": {"full": True, "threads": 1}})
    # an absent section is filled in by the schema (runners/params.py), not here
    assert not determinism({"determinism": Determinism().model_dump()})


def test_threads_are_pinned_from_the_spec():
    import torch

    from runners.training.seeding import report, seed_everything, threads

    before = torch.get_num_threads()
    try:
        seed_everything(3, threads=threads({"determinism": {"full": False, "threads": 1}}))
        assert torch.get_num_threads() == 1
        assert report()["threads"] == 1
        assert not any("not pinned" in a for a in report()["allowed_nondeterminism"])
        assert threads({"determinism": Determinism().model_dump()}) == 1
        assert threads({"determinism": {"full": False, "threads": None}}) is None
    finally:
        torch.set_num_threads(before)
