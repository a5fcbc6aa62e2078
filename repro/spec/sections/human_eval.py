"""The ``human_eval`` section: a blind side-by-side comparison with other specs, and its scoring."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from repro.spec.sections.common import Section


class HumanEval(Section):
    against: list[str] = Field(
        min_length=1, max_length=15,
        description="the other specs whose answers are judged against this spec's, on the "
        "same prompts (each a spec name in specs/)",
    )
    sheet: str = Field(
        description="folder (in the workspace) of the sheet `repro human export` writes "
        "(sheet.html, sheet.csv, key.json) and of the judgments `repro human import` adds "
        "(judgments/<annotator>.json); the scoring stage depends on key.json and judgments/",
    )
    prompts: int = Field(24, gt=0, le=5000, description="prompts taken from the split")
    split: Literal["validation", "test"] = "test"
    max_new_tokens: int = Field(16, gt=0, le=4096, description="greedy answers up to this long")
    seed: int = Field(0, ge=0, le=2**32 - 1,
                      description="shuffles the items and the left/right sides; seeds the "
                      "Bradley-Terry bootstrap")
    bootstrap: int = Field(200, ge=10, le=100_000,
                           description="bootstrap resamples for Bradley-Terry intervals "
                           "(more than two systems)")
    confidence: float = Field(0.95, gt=0.5, lt=1.0, description="of every interval reported")

    @field_validator("sheet")
    @classmethod
    def _relative(cls, value: str) -> str:
        from pathlib import PurePosixPath

        p = PurePosixPath(value)
        if not value.strip() or p.is_absolute() or ".." in p.parts:
            raise ValueError("must be a folder inside the workspace, relative to its root "
                             f"(got {value!r})")
        return value.rstrip("/")
