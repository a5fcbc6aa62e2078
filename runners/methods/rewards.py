"""Reward sources for online RL: verifiable functions, and reward models of other specs.

A function gets TRL's reward-function arguments (``prompts``, ``completions`` and every
other data set column as a keyword list, here ``answer``) and returns one float per
completion. A reward model is another spec's trained output (``train.method: reward``),
handed to GRPOTrainer as a model together with its own tokenizer.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from repro.contract import paths
from runners.errors import RunnerError


def completion_text(completion: Any) -> str:
    """The text of a completion: a string, or a conversational ``[{role, content}]``."""
    if isinstance(completion, list):
        return "".join(str(m.get("content", "")) for m in completion)
    return str(completion)


def exact_match(completions: Sequence[Any], answer: Sequence[str], **_: Any) -> list[float]:
    """1.0 when the completion, stripped, equals the reference answer, else 0.0."""
    return [
        1.0 if completion_text(c).strip() == str(a).strip() else 0.0
        for c, a in zip(completions, answer, strict=True)
    ]


def numeric_closeness(completions: Sequence[Any], answer: Sequence[str], **_: Any) -> list[float]:
    """1 / (1 + |completion - answer|) when both parse as numbers, else 0.0: a denser
    signal than exact match for a model that is often close but rarely right."""
    out = []
    for c, a in zip(completions, answer, strict=True):
        try:
            out.append(1.0 / (1.0 + abs(float(completion_text(c).strip()) - float(a))))
        except ValueError:
            out.append(0.0)
    return out


FUNCTIONS = {"exact_match": exact_match, "numeric_closeness": numeric_closeness}


def reward_functions(reward: dict[str, Any] | list[dict[str, Any]], root: Path):
    """``(reward_funcs, processing_classes, weights)`` for GRPOTrainer from a spec's
    ``train.reward`` (one source or a list of them)."""
    sources = reward if isinstance(reward, list) else [reward]
    funcs, tokenizers, weights = [], [], []
    for source in sources:
        func, tokenizer = _one(source, root)
        funcs.append(func)
        tokenizers.append(tokenizer)
        weights.append(float(source.get("weight", 1.0)))
    return funcs, tokenizers, weights


def _one(reward: dict[str, Any], root: Path):
    if "function" in reward:
        name = reward["function"]
        if name not in FUNCTIONS:
            raise RunnerError(
                f"train.reward.function: unknown value {name!r} (expected: {', '.join(FUNCTIONS)})"
            )
        return FUNCTIONS[name], None
    from runners.models import modeling

    rel = paths.model_dir(reward["spec"])
    location = root / rel
    if not modeling.is_reward_model(location):
        raise RunnerError(
            f"train.reward.spec: {rel} holds no reward model (train spec {reward['spec']!r} first)"
        )
    model, tokenizer = modeling.load_reward_model(location)
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model, tokenizer
