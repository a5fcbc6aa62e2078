"""``method: trl-sft``: supervised fine-tuning with TRL's SFTTrainer.

Chat rows go through the chat template; with ``assistant_only_loss`` the loss is on the
assistant turns only (the template's ``{% generation %}`` markers give the mask).
Instruction rows become prompt/completion pairs (loss on the answer). ``packing`` fills
each ``max_length`` row with several examples (best-fit decreasing, padding-free: the
examples keep their own position ids and do not attend to each other).
"""

from __future__ import annotations

from typing import Any

from runners.data.formats import sft_example
from runners.methods import trl_common

LOGGED: tuple[tuple[str, str], ...] = (("token_accuracy", "mean_token_accuracy"),)


def build(ctx) -> Any:
    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer

    t, fmt = ctx.train, ctx.fmt
    assistant_only = t.get("assistant_only_loss")
    if assistant_only is None:
        assistant_only = fmt == "chat"
    args = ctx.args(
        SFTConfig,
        max_length=int(t["max_length"]),
        packing=bool(t.get("packing")),
        assistant_only_loss=bool(assistant_only),
        completion_only_loss=None,
    )
    data = Dataset.from_list([sft_example(r, fmt) for r in ctx.rows])
    return ctx.trainer(SFTTrainer)(
        model=ctx.model, args=args, train_dataset=data, processing_class=ctx.tokenizer
    )


def fit(st):
    """Train with the harness's stage ``st`` (see ``trl_common.fit``)."""
    return trl_common.fit(st, build, LOGGED)
