"""Spec versions: upgrade an older spec, step by step, to the current ``spec_version``.

Each migration takes the plain document of version N and returns it as version N+1.
They run on the merged document (after ``extends``), before validation, so an old
spec keeps loading; ``repro upgrade`` writes the result back to the file.
Migrations are idempotent on input that is already new, so a file that leaves
``spec_version`` out (treated as version 1) is never harmed by them.

The loader also upgrades every file of an ``extends`` chain on its own before merging,
so a current spec may extend an older base. To add version N+1: bump ``SPEC_VERSION``
in repro/spec/schema.py, write ``_vN_to_vN1(doc) -> list of changes`` (edit the mapping in
place: ``repro upgrade`` hands it ruamel's commented mapping, so whatever it does not
touch keeps its comments and layout) and register it in ``MIGRATIONS``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from repro.spec.schema import SPEC_VERSION

Doc = dict[str, Any]


def _v1_to_v2(doc: Doc) -> list[str]:
    """v2: ``data.clean.dedupe`` is a mode (exact | near | none) instead of a boolean."""
    changes = []
    data = doc.get("data")
    clean = data.get("clean") if isinstance(data, dict) else None
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


# ----------------------------------------------------------------------------- upgrade files


def upgrade_text(text: str, inherited: int | None = None) -> tuple[str, list[str]]:
    """``text`` (one spec file) upgraded to SPEC_VERSION, comments and layout kept.

    Round-trips through ruamel.yaml: the migrations edit the commented mapping in place,
    so only the values they change move. Returns the new text and the changes made
    (empty, and the text unchanged, when the file is current).
    """
    import io

    from ruamel.yaml import YAML

    yaml = YAML(typ="rt", pure=True)
    yaml.preserve_quotes = True
    yaml.width = 4096
    doc = yaml.load(text)
    if not isinstance(doc, dict):
        return text, []
    if "spec_version" not in doc:
        # a file without spec_version has the version of the bases it extends (as loading
        # reads it), else 1
        version = inherited if isinstance(inherited, int) else 1
        if version >= SPEC_VERSION:
            return text, []
        doc.insert(0, "spec_version", version)  # upgrade() sets it in place: keep it first
    changes = upgrade(doc)
    if not changes:
        return text, []
    buf = io.StringIO()
    yaml.dump(doc, buf)
    return buf.getvalue(), changes


def upgrade_file(path, inherited: int | None = None) -> list[str]:
    """Upgrade one spec file in place (atomically); return the changes made."""
    import os
    import tempfile
    from pathlib import Path

    path = Path(path)
    text = path.read_text(encoding="utf-8")
    new, changes = upgrade_text(text, inherited)
    if changes and new != text:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(new)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    return changes
