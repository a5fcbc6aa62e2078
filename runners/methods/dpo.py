"""``method: dpo``: direct preference optimisation with TRL's DPOTrainer.

The reference model is the base model (TRL keeps a frozen copy, or, with LoRA, the base
under the disabled adapter); ``beta`` sets how far the policy may move from it.
"""

from __future__ import annotations

from typing import Any

from runners.data.formats import preference_example
from runners.methods import trl_common

LOGGED: tuple[tuple[str, str], ...] = (
    ("accuracy", "rewards/accuracies"),
    ("margin", "rewards/margins"),
)


def build(ctx) -> Any:
    from datasets import Dataset
    from trl import DPOConfig, DPOTrainer

    t = ctx.train
    args = ctx.args(
        DPOConfig,
        max_length=int(t["max_length"]),
        beta=float(t["beta"]),
        **_losses(t),
    )
    data = Dataset.from_list([preference_example(r) for r in ctx.rows])
    return ctx.trainer(DPOTrainer)(
        model=ctx.model, ref_model=ctx.reference(), args=args, train_dataset=data,
        processing_class=ctx.tokenizer,
    )


def _losses(t: dict[str, Any]) -> dict[str, Any]:
    """The preference loss, plus TRL's ``sft`` loss on the chosen answers when weighted."""
    weight = float(t.get("sft_weight") or 0.0)
    if weight > 0:
        return {"loss_type": [t["loss_type"], "sft"], "loss_weights": [1.0, weight]}
    return {"loss_type": [t["loss_type"]]}


def fit(st):
    """Train with the harness's stage ``st`` (see ``trl_common.fit``)."""
    return trl_common.fit(st, build, LOGGED)
