"""``method: reward``: a reward model trained with TRL's RewardTrainer.

The base language model gets a one-output sequence-classification head (seeded); the
loss is -log sigmoid(r(chosen) - r(rejected)) over the preference pairs, so a chosen
answer learns to score above its rejected twin. The output is a full
``...ForSequenceClassification`` model that a grpo spec can use as its reward.
"""

from __future__ import annotations

from typing import Any

from runners.data.formats import preference_example
from runners.methods import trl_common

LOGGED: tuple[tuple[str, str], ...] = (("accuracy", "accuracy"), ("margin", "margin"))


def build(ctx) -> Any:
    from datasets import Dataset
    from trl import RewardConfig, RewardTrainer

    t = ctx.train
    args = ctx.args(
        RewardConfig,
        max_length=int(t["max_length"]),
        center_rewards_coefficient=t.get("center_rewards"),
    )
    data = Dataset.from_list([preference_example(r) for r in ctx.rows])
    return ctx.trainer(RewardTrainer)(
        model=ctx.model, args=args, train_dataset=data, processing_class=ctx.tokenizer
    )


def fit(st):
    """Train with the harness's stage ``st`` (see ``trl_common.fit``)."""
    return trl_common.fit(st, build, LOGGED)
