"""The ``search`` section: an Optuna sweep over any spec field (space, objectives, sampler, pruner)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from repro.spec.sections.common import Section

Scalar = bool | int | float | str | None


class Param(Section):
    """One dimension of the space: a range (``low``/``high``, optionally ``log`` or ``step``)
    or a list of ``choices``; ``when`` makes it conditional on other fields' values."""

    low: float | None = Field(None, description="lower bound (inclusive)")
    high: float | None = Field(None, description="upper bound (inclusive)")
    log: bool = Field(False, description="sample on a log scale (bounds must be > 0)")
    step: float | None = Field(None, gt=0, description="discretisation step of the range")
    choices: list[Scalar] | None = Field(None, description="categorical values")
    when: dict[str, Scalar | list[Scalar]] | None = Field(
        None, description="sample only when these fields (sampled or not) have these values; "
        "a list means any of them"
    )

    @model_validator(mode="after")
    def _shape(self) -> Param:
        if self.choices is not None:
            if self.low is not None or self.high is not None:
                raise ValueError("give either choices or low/high, not both")
            if not self.choices:
                raise ValueError("choices is empty")
            if len({repr(c) for c in self.choices}) != len(self.choices):
                raise ValueError("choices repeat a value")
            return self
        if self.low is None or self.high is None:
            raise ValueError("a range needs both low and high (or give choices)")
        if self.low > self.high:
            raise ValueError(f"low {self.low} is above high {self.high}")
        if self.log and self.low <= 0:
            raise ValueError(f"log scale needs low > 0 (got {self.low})")
        if self.log and self.step is not None:
            raise ValueError("log and step cannot be combined")
        return self


class Objective(Section):
    metric: str = Field(..., description="a metric the spec's evaluation writes (metrics.json)")
    direction: Literal["maximize", "minimize"] = "maximize"


class Sampler(Section):
    name: Literal["tpe", "random", "grid", "gp", "nsga2"] = "tpe"
    seed: int | None = Field(None, ge=0, le=2**32 - 1, description="null = the spec's seed")
    startup_trials: int | None = Field(
        None, ge=0, description="random trials before TPE/GP model the space (null: Optuna's default)"
    )


class Pruner(Section):
    name: Literal["median", "hyperband", "none"] = "none"
    every: int | None = Field(
        None, gt=0, description="validation loss every N optimizer steps, reported to Optuna "
        "(needed by a pruner; null = no intermediate evaluation)"
    )
    warmup_steps: int = Field(0, ge=0, description="median: never prune before this step")
    startup_trials: int = Field(2, ge=0, description="median: trials that are never pruned")
    max_examples: int = Field(64, gt=0, description="validation examples per intermediate evaluation")


class Search(Section):
    """An Optuna study over this spec: each trial is the spec with the sampled fields set."""

    space: dict[str, Param] = Field(
        ..., min_length=1, description="field path (e.g. train.optimizer.lr) -> its range or choices"
    )
    objective: Objective | list[Objective] = Field(
        ..., description="one objective, or several (Pareto front)"
    )
    sampler: Sampler = Field(default_factory=Sampler)
    pruner: Pruner = Field(default_factory=Pruner)
    trials: int = Field(10, gt=0, le=100_000, description="complete trials to reach")
    timeout: float | None = Field(None, gt=0, description="seconds; stop starting trials after")
    workers: int = Field(1, gt=0, le=256, description="worker processes on this machine")

    def objectives(self) -> list[Objective]:
        return self.objective if isinstance(self.objective, list) else [self.objective]
