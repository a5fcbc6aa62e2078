"""``method: orpo``: odds-ratio preference optimisation with TRL's *experimental* ORPOTrainer.

ORPO lives in ``trl.experimental.orpo`` in TRL 1.16 (an API TRL may change in any
release; tests/runners/methods pins what repro relies on). The loss is the SFT loss on
the chosen answer plus ``beta`` times -log sigmoid of the log odds ratio between chosen
and rejected, so one stage does SFT and preference alignment without a reference model.
"""

from __future__ import annotations

import os
from typing import Any

from runners.data.formats import preference_example
from runners.methods import trl_common

LOGGED: tuple[tuple[str, str], ...] = (
    ("accuracy", "rewards/accuracies"),
    ("margin", "rewards/margins"),
    ("nll", "nll_loss"),
)


def build(ctx) -> Any:
    from datasets import Dataset

    os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")  # said once, in the docs
    from trl.experimental.orpo import ORPOConfig, ORPOTrainer

    t = ctx.train
    args = ctx.args(
        ORPOConfig,
        max_length=int(t["max_length"]),
        beta=float(t["beta"]),
    )
    data = Dataset.from_list([preference_example(r) for r in ctx.rows])
    return ctx.trainer(ORPOTrainer)(
        model=ctx.model, args=args, train_dataset=data, processing_class=ctx.tokenizer
    )


def fit(st):
    """Train with the harness's stage ``st`` (see ``trl_common.fit``)."""
    return trl_common.fit(st, build, LOGGED)
