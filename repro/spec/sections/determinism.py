"""The ``determinism`` section: full determinism and pinned CPU threads."""

from __future__ import annotations

from pydantic import (
    Field,
)

from repro.spec.sections.common import Section


class Determinism(Section):
    """Seeds always pin Python, NumPy, torch, data order, splits and dropout; this goes further."""

    full: bool = Field(
        False,
        description="torch deterministic algorithms only (a non-deterministic op is an error), "
        "cuDNN deterministic, no cuDNN benchmark, a fixed cuBLAS workspace; slower on GPU",
    )
    threads: int | None = Field(
        1,
        ge=1,
        le=1024,
        description="torch CPU threads in every stage: float results depend on the thread "
        "count, so it is pinned and results do not change with the machine's cores; "
        "null = torch's default (one per core)",
    )
