"""Seeding every source of randomness a run touches."""

from __future__ import annotations

import random


def seed_everything(seed: int):
    """Seed Python, NumPy and torch; return a ``torch.Generator`` for the data order.

    The data-order generator is separate from the global torch RNG, so adding or
    removing a random layer (say, LoRA dropout) does not reshuffle the data.
    """
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    g = torch.Generator()
    g.manual_seed(seed)
    return g
