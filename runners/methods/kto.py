"""``method: kto``: Kahneman-Tversky optimisation with TRL's KTOTrainer, on unpaired feedback.

Every row is one prompt, one completion and a label (desirable or not); there are no
pairs. The loss pushes the implied reward (the policy's log-ratio to the reference) of
desirable completions above a KL baseline and that of undesirable ones below it, each
side weighted by ``desirable_weight``/``undesirable_weight``. The reference model is the
base model (a frozen copy, or with LoRA the base under the disabled adapter). TRL
estimates the KL baseline from mismatched pairs inside each batch, so it reads the rows
in order (the prepare stage already shuffled them with the spec's seed).
"""

from __future__ import annotations

from typing import Any

from runners.data.formats import feedback_example
from runners.methods import trl_common

LOGGED: tuple[tuple[str, str], ...] = (
    ("margin", "rewards/margins"),
    ("kl", "kl"),
)


def build(ctx) -> Any:
    from datasets import Dataset
    from trl import KTOConfig, KTOTrainer

    t = ctx.train
    args = ctx.args(
        KTOConfig,
        max_length=int(t["max_length"]),
        beta=float(t["beta"]),
        desirable_weight=float(t["desirable_weight"]),
        undesirable_weight=float(t["undesirable_weight"]),
    )
    data = Dataset.from_list([feedback_example(r) for r in ctx.rows])
    return ctx.trainer(KTOTrainer)(
        model=ctx.model, ref_model=ctx.reference(), args=args, train_dataset=data,
        processing_class=ctx.tokenizer,
    )


def fit(st):
    """Train with the harness's stage ``st`` (see ``trl_common.fit``)."""
    return trl_common.fit(st, build, LOGGED)
