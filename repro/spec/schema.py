"""Spec schema, version 2 (pydantic v2).

One model per section; ``extra="forbid"`` everywhere so a typo is an error, not a
silently ignored key; a discriminated union wherever a field picks a kind
(``train.method``, ``train.optimizer.name``, the key of ``data.source`` and
``model.base``). Defaults are chosen so that a ten-line spec is valid.
Field descriptions feed ``repro schema`` (editor completion) and docs/spec-reference.md.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from repro.spec.sections.common import Section
from repro.spec.sections.data import (  # noqa: F401 - the schema's names, in one place
    BUILTINS,
    FORMAT_COLUMNS,
    BuiltinSource,
    Data,
    HubSource,
    PathSource,
)
from repro.spec.sections.determinism import Determinism
from repro.spec.sections.evaluate import Evaluate
from repro.spec.sections.human_eval import HumanEval
from repro.spec.sections.model import (  # noqa: F401
    ARCH_MODULES,
    ConfigBase,
    HubBase,
    Model,
    ModelConfig,
    PathBase,
    SpecBase,
)
from repro.spec.sections.search import Search
from repro.spec.sections.tracking import Tracking
from repro.spec.sections.train import (  # noqa: F401
    REFERENCE_METHODS,
    TRL_METHODS,
    SpecReward,
    Train,
    reward_sources,
)

SPEC_VERSION = 2
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]*$"


class Spec(Section):
    """A versioned experiment spec."""

    spec_version: Literal[2] = Field(
        SPEC_VERSION, description="schema version; older files are upgraded on load (`repro upgrade`)"
    )
    name: str | None = Field(
        None, pattern=NAME_PATTERN, description="defaults to the file name; must match it"
    )
    description: str = ""
    seed: int = Field(1234, ge=0, le=2**32 - 1)
    determinism: Determinism = Field(default_factory=Determinism)
    data: Data
    model: Model
    train: Train
    evaluate: Evaluate = Field(default_factory=Evaluate)
    tracking: Tracking = Field(default_factory=Tracking)
    human_eval: HumanEval | None = Field(
        None, description="judge this spec's answers against other specs' by people "
        "(docs/human-eval.md)")

    search: Search | None = Field(
        None, description="an Optuna sweep over this spec's fields (docs/search.md); null = none"
    )

    def spec_refs(self) -> list[tuple[tuple[str, ...], str]]:
        """Other specs whose trained model this one needs, as (field path, spec name):
        the base model, an online RL stage's reward model, a distillation teacher."""
        refs: list[tuple[tuple[str, ...], str]] = []
        if isinstance(self.model.base, SpecBase):
            refs.append((("model", "base", "spec"), self.model.base.spec))
        for path, reward in reward_sources(self.train):
            if isinstance(reward, SpecReward):
                refs.append(((*path, "spec"), reward.spec))
        if self.model.teacher is not None:
            refs.append((("model", "teacher", "spec"), self.model.teacher.spec))
        return refs


def json_schema() -> dict[str, Any]:
    schema = Spec.model_json_schema()
    schema["properties"]["extends"] = {
        "description": "a spec file (or list of files) to deep-merge under this one",
        "anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}],
    }
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = f"repro spec v{SPEC_VERSION}"
    return schema
