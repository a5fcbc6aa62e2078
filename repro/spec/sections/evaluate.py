"""The ``evaluate`` section: metrics, split and generation settings."""

from __future__ import annotations

from typing import Literal, get_args

from pydantic import Field

from repro.spec.sections.common import Section

Metric = Literal["perplexity", "exact_match", "preference_accuracy"]
METRICS: tuple[str, ...] = get_args(Metric)  # the one list of metric names
# data formats with a reference answer (feedback: the completions labelled desirable)
ANSWER_FORMATS = ("instruction", "chat", "preference", "feedback")


class Evaluate(Section):
    metrics: list[Metric] = Field(
        default_factory=lambda: ["perplexity"],
        min_length=1,
        description="perplexity; exact_match: greedy answer equals the reference; "
        "preference_accuracy: chosen scored above rejected (log-probability, or reward for "
        "a reward model)",
    )
    split: Literal["validation", "test"] = "test"
    max_examples: int | None = Field(200, gt=0, description="null = the whole split")
    max_new_tokens: int = Field(8, gt=0, le=4096)
    batch_size: int = Field(32, gt=0, le=65536)
    compare_base: bool = Field(True, description="also score the base model, for a before/after")
