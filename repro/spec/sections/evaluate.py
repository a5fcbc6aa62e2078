"""The ``evaluate`` section: metrics and their options, generation, perplexity, tasks, gates."""

from __future__ import annotations

import re
from typing import Literal, get_args

from pydantic import Field, model_validator

from repro.spec.sections.common import Section

Metric = Literal[
    "perplexity", "exact_match", "preference_accuracy",
    "token_perplexity", "bits_per_byte", "byte_perplexity", "word_perplexity",
    "bleu", "chrf", "rouge", "accuracy", "f1",
]
METRICS: tuple[str, ...] = get_args(Metric)  # the one list of metric names
# data formats with a reference answer (feedback: the completions labelled desirable)
ANSWER_FORMATS = ("instruction", "chat", "preference", "feedback")
# metrics scored on generated answers against the reference answers
GENERATION_METRICS = ("exact_match", "bleu", "chrf", "rouge", "accuracy", "f1")
# the rolling (whole-text) log-likelihood family: strided windows over each row's text
ROLLING_METRICS = ("token_perplexity", "bits_per_byte", "byte_perplexity", "word_perplexity")
ROUGE_TYPES = ("rouge1", "rouge2", "rougeL", "rougeLsum")
NAME_PATTERN = r"^[A-Za-z][A-Za-z0-9_-]*$"


def metric_keys(metric: str) -> tuple[str, ...]:
    """The keys a metric name writes into metrics.json."""
    return ROUGE_TYPES if metric == "rouge" else (metric,)


class ExactMatchOptions(Section):
    """How answers are normalised before comparing (both sides alike)."""

    ignore_case: bool = False
    ignore_punctuation: bool = False
    ignore_whitespace: bool = Field(False, description="drop all whitespace")
    regexes_to_ignore: list[str] = Field(default_factory=list,
                                         description="removed (re.sub) before comparing")

    @model_validator(mode="after")
    def _regexes(self) -> ExactMatchOptions:
        for rx in self.regexes_to_ignore:
            try:
                re.compile(rx)
            except re.error as e:
                raise ValueError(f"regexes_to_ignore: bad regular expression {rx!r}: {e}") from None
        return self


class BleuOptions(Section):
    """sacrebleu's corpus BLEU (its signature is recorded with the score)."""

    tokenize: Literal["13a", "none", "intl", "char"] = Field(
        "13a", description="sacrebleu tokenizer (no flores/spm: those download models)")
    lowercase: bool = False
    smooth_method: Literal["exp", "floor", "add-k", "none"] = "exp"
    effective_order: bool = False


class ChrfOptions(Section):
    """sacrebleu's chrF (word_order: 2 = chrF++)."""

    char_order: int = Field(6, ge=1, le=12)
    word_order: int = Field(0, ge=0, le=2)
    beta: int = Field(2, ge=1, le=10)
    lowercase: bool = False
    whitespace: bool = False


class RougeOptions(Section):
    """rouge-score 0.1.2; rougeLsum splits summaries into sentences on newlines."""

    use_stemmer: bool = False


class F1Options(Section):
    average: Literal["macro", "micro", "weighted"] = Field(
        "macro", description="scikit-learn's average over the answer labels")


class MetricOptions(Section):
    exact_match: ExactMatchOptions = Field(default_factory=ExactMatchOptions)
    bleu: BleuOptions = Field(default_factory=BleuOptions)
    chrf: ChrfOptions = Field(default_factory=ChrfOptions)
    rouge: RougeOptions = Field(default_factory=RougeOptions)
    f1: F1Options = Field(default_factory=F1Options)


class CustomMetric(Section):
    """A metric module of your own, loaded with ``evaluate.load(path)``."""

    path: str = Field(description="a metric script (.py) or its folder, inside the workspace")
    name: str | None = Field(None, pattern=NAME_PATTERN,
                             description="its key in metrics.json; null = the file's stem")
    options: dict[str, int | float | str | bool] = Field(
        default_factory=dict, description="keyword arguments for its compute()")

    @property
    def key(self) -> str:
        from pathlib import PurePosixPath

        return self.name or PurePosixPath(self.path.rstrip("/")).stem.replace(".", "_")


class Generation(Section):
    """How answers are generated (recorded in metrics.json under ``settings``)."""

    do_sample: bool = Field(False, description="false = greedy")
    temperature: float = Field(1.0, gt=0, le=100, description="sampling only")
    top_p: float = Field(1.0, gt=0, le=1, description="sampling only")
    top_k: int | None = Field(None, gt=0, description="sampling only; null = off")
    stop: list[str] = Field(default_factory=list,
                            description="cut an answer at the first of these strings")
    seed: int | None = Field(None, ge=0, description="sampling seed; null = the spec's seed")

    @model_validator(mode="after")
    def _greedy(self) -> Generation:
        if not self.do_sample and (self.temperature != 1.0 or self.top_p != 1.0
                                   or self.top_k is not None):
            raise ValueError("temperature, top_p and top_k apply to sampling only "
                             "(set do_sample: true, or remove them)")
        if any(s == "" for s in self.stop):
            raise ValueError("stop: empty strings are not allowed")
        return self


class Perplexity(Section):
    """The rolling log-likelihood metrics: strided sliding windows over each row's text."""

    max_length: int | None = Field(None, gt=1, le=1_048_576,
                                   description="window in tokens; null = the model's context")
    stride: int | None = Field(None, gt=0, description="tokens scored per window after the "
                               "first; null = max_length (disjoint windows, as lm-eval)")
    prefix: Literal["auto", "bos", "eos", "none"] = Field(
        "auto", description="token before each text: auto = BOS, else EOS (lm-eval's rule); "
        "none = the first token is not scored")

    @model_validator(mode="after")
    def _stride(self) -> Perplexity:
        if self.stride is not None and self.max_length is not None and self.stride > self.max_length:
            raise ValueError(f"stride ({self.stride}) must be <= max_length ({self.max_length})")
        return self


class Task(Section):
    """A benchmark task file (lm-evaluation-harness task YAML, the practical subset)."""

    path: str = Field(description="a task YAML inside the workspace")
    num_fewshot: int | None = Field(None, ge=0, le=64, description="null = the file's")
    limit: int | None = Field(None, gt=0, description="first N documents; null = all")


class Bootstrap(Section):
    """Seeded bootstrap standard errors and 95% intervals."""

    iters: int = Field(1000, ge=0, le=100_000, description="resamples; 0 = off")
    seed: int | None = Field(None, ge=0, description="null = the spec's seed")


class Gate(Section):
    """A threshold on one metric; a failed gate fails the evaluate stage."""

    metric: str = Field(description="a key of metrics.json, dotted: bleu, rougeL, "
                        "tasks.<task>.acc, base.bleu, <custom name>")
    min: float | None = Field(None, description="floor")
    max: float | None = Field(None, description="ceiling")
    against: str | None = Field(None, pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]*$",
                                description="another spec: its metrics.json is the reference")
    max_regression: float | None = Field(
        None, ge=0, description="how much worse than `against` the value may be")
    relative: bool = Field(False, description="max_regression as a fraction of the reference")
    higher_is_better: bool | None = Field(
        None, description="null = true, except perplexity-like metrics")
    ci_disjoint: bool = Field(False, description="the 95% bootstrap intervals of value and "
                              "reference must not overlap (needs bootstrap)")

    @model_validator(mode="after")
    def _kinds(self) -> Gate:
        if self.min is None and self.max is None and self.max_regression is None \
                and not self.ci_disjoint:
            raise ValueError("a gate needs min, max, max_regression or ci_disjoint")
        if (self.max_regression is not None or self.ci_disjoint) and self.against is None:
            raise ValueError("max_regression and ci_disjoint compare against another spec: "
                             "set against: <spec name>")
        if self.against is not None and self.max_regression is None and not self.ci_disjoint:
            raise ValueError("against needs max_regression or ci_disjoint")
        if self.relative and self.max_regression is None:
            raise ValueError("relative applies to max_regression only")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min}) is above max ({self.max})")
        return self

    @property
    def higher(self) -> bool:
        if self.higher_is_better is not None:
            return self.higher_is_better
        leaf = self.metric.rsplit(".", 1)[-1]
        return not (leaf.endswith("perplexity") or leaf == "bits_per_byte")


class Evaluate(Section):
    metrics: list[Metric] = Field(
        default_factory=lambda: ["perplexity"],
        min_length=1,
        description="perplexity (of the labelled tokens); exact_match, bleu, chrf, rouge "
        "(rouge1/2/L/Lsum), accuracy, f1: generated answer against the reference; "
        "token_perplexity, bits_per_byte, byte_perplexity, word_perplexity: rolling "
        "log-likelihood of each row's text (see perplexity); preference_accuracy: chosen "
        "scored above rejected (log-probability, or reward for a reward model)",
    )
    split: Literal["validation", "test"] = "test"
    max_examples: int | None = Field(200, gt=0, description="null = the whole split")
    max_new_tokens: int = Field(8, gt=0, le=4096)
    batch_size: int = Field(32, gt=0, le=65536)
    compare_base: bool = Field(True, description="also score the base model, for a before/after")
    options: MetricOptions = Field(default_factory=MetricOptions,
                                   description="per-metric options")
    generation: Generation = Field(default_factory=Generation)
    perplexity: Perplexity = Field(default_factory=Perplexity)
    custom: list[CustomMetric] = Field(default_factory=list,
                                       description="your own metric modules (evaluate.load)")
    tasks: list[Task] = Field(default_factory=list, description="benchmark task files")
    harness: Literal["repro", "lm-eval"] = Field(
        "repro", description="who runs the tasks: repro's own runner, or lm-eval 0.4.13")
    bootstrap: Bootstrap = Field(default_factory=Bootstrap)
    gates: list[Gate] = Field(default_factory=list, description="regression gates")

    @model_validator(mode="after")
    def _checks(self) -> Evaluate:
        names = [c.key for c in self.custom]
        taken = {k for m in METRICS for k in metric_keys(m)} | {"tasks", "base", "settings",
                                                                "n_examples"}
        for key in names:
            if key in taken:
                raise ValueError(f"custom: name '{key}' is taken by a built-in key "
                                 "(set name: to another)")
        if len(set(names)) != len(names):
            raise ValueError("custom: two metrics have the same name")
        return self
