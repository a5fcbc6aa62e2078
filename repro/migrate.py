"""Spec versions: upgrade an older spec, step by step, to the current ``spec_version``.

Each migration takes the plain document of version N and returns it as version N+1.
They run on the merged document (after ``extends``), before validation, so an old
spec keeps loading; ``repro upgrade`` writes the result back to the file.
Migrations are idempotent on input that is already new, so a file that leaves
``spec_version`` out (treated as version 1) is never harmed by them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from repro.schema import SPEC_VERSION

Doc = dict[str, Any]


def _v1_to_v2(doc: Doc) -> list[str]:
    """v2: ``data.clean.dedupe`` is a mode (exact | near | none) instead of a boolean."""
    changes = []
    clean = (doc.get("data") or {}).get("clean")
    if isinstance(clean, dict) and isinstance(clean.get("dedupe"), bool):
        new = "exact" if clean["dedupe"] else "none"
        changes.append(f"data.clean.dedupe: {str(clean['dedupe']).lower()} -> {new}")
        clean["dedupe"] = new
    return changes


# version N -> the function that turns N into N+1
MIGRATIONS: dict[int, Callable[[Doc], list[str]]] = {1: _v1_to_v2}


def version_of(doc: Doc) -> int | None:
    """The document's ``spec_version``, 1 when absent, None when not an integer."""
    v = doc.get("spec_version", 1)
    return v if isinstance(v, int) and not isinstance(v, bool) else None


def upgrade(doc: Doc) -> list[str]:
    """Upgrade ``doc`` in place to SPEC_VERSION; return what changed, one line per change.

    A version newer than this repro, or not a number, is left alone for validation to
    report.
    """
    v = version_of(doc)
    if v is None or v >= SPEC_VERSION or v < 1:
        return []
    changes: list[str] = []
    while v < SPEC_VERSION:
        changes += MIGRATIONS[v](doc)
        v += 1
    changes.append(f"spec_version: {version_of(doc)} -> {SPEC_VERSION}")
    doc["spec_version"] = SPEC_VERSION
    return changes
