"""``method: rloo``: online RL with TRL's RLOOTrainer (REINFORCE leave-one-out).

Like GRPO, each step samples ``num_generations`` completions of every prompt and scores
them with the same reward sources (a verifiable function, another spec's reward model,
or a weighted list); the advantage of a completion is its reward minus the mean reward
of the other completions of its prompt. ``beta`` > 0 adds a KL penalty towards the base.
"""

from __future__ import annotations

from typing import Any

from runners.data.formats import rl_example
from runners.errors import RunnerError
from runners.methods import trl_common
from runners.methods.rewards import reward_functions

LOGGED: tuple[tuple[str, str], ...] = (("reward", "reward"),)


def build(ctx) -> Any:
    from datasets import Dataset
    from trl import RLOOConfig, RLOOTrainer

    t = ctx.train
    funcs, func_tokenizers, weights = reward_functions(t["reward"], ctx.root)
    args = ctx.args(
        RLOOConfig,
        num_generations=int(t["num_generations"]),
        max_completion_length=int(t["max_completion_length"]),
        temperature=float(t["temperature"]),
        beta=float(t["beta"]),
        normalize_advantages=bool(t["normalize_advantages"]),
        reward_weights=weights,
    )
    data = Dataset.from_list([rl_example(r, ctx.fmt) for r in ctx.rows])
    # with beta > 0 RLOOTrainer loads its reference model from the model's name, which
    # holds a workspace-relative label: point it at the real location while it does
    config = ctx.model.config
    label = config._name_or_path
    if float(t["beta"]) > 0 and t.get("peft") is None:
        if not ctx.base_location:
            raise RunnerError("train.beta > 0 needs a base model loaded from a directory or "
                              "the hub (a reference to compare with); use beta: 0")
        config._name_or_path = ctx.base_location
    try:
        return ctx.trainer(RLOOTrainer)(
            model=ctx.model, args=args, train_dataset=data, processing_class=ctx.tokenizer,
            reward_funcs=funcs, reward_processing_classes=func_tokenizers,
        )
    finally:
        config._name_or_path = label


def fit(st):
    """Train with the harness's stage ``st`` (see ``trl_common.fit``)."""
    return trl_common.fit(st, build, LOGGED)
