"""Loading a data set's raw rows from its ``source``: a built-in generator or a local file.

Rows come back normalised to the columns of their format:
``text`` -> ``{"text"}``; ``instruction`` -> ``{"instruction", "input", "output"}``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runners.data import builtin
from runners.errors import RunnerError
from runners.fileio import canonical_json, sha256_file, sha256_text

COLUMNS = {
    "text": ("text",),
    "instruction": ("instruction", "output"),
    "chat": ("messages",),
    "preference": ("prompt", "chosen", "rejected"),
}
OPTIONAL_COLUMNS = {"text": (), "instruction": ("input",), "chat": (), "preference": ()}


@dataclass(frozen=True)
class RawData:
    rows: list[dict[str, str]]
    sha256: str  # of the raw bytes (a local file) or of the generated rows as JSON lines
    origin: str  # a short label for messages and the manifest


def load_source(source: dict[str, Any], fmt: str, seed: int, root: Path) -> RawData:
    """Rows of ``source`` in format ``fmt``; local paths are relative to ``root``."""
    if "builtin" in source:
        return _load_builtin(source, fmt, seed)
    if "path" in source:
        return _load_jsonl(root, source["path"], fmt)
    if "hub" in source:
        raise RunnerError(
            "data source {hub: ...} is not supported by the runners (they run offline); "
            "download the data and use {path: data/x.jsonl}"
        )
    raise RunnerError(f"data source: expected one of builtin, path (got {source!r})")


def _load_builtin(source: dict[str, Any], fmt: str, seed: int) -> RawData:
    name = source["builtin"]
    if name not in builtin.GENERATORS:
        known = ", ".join(sorted(builtin.GENERATORS))
        raise RunnerError(f"data source: unknown builtin {name!r} (known: {known})")
    if builtin.builtin_format(name) != fmt:
        raise RunnerError(
            f"data source: builtin {name!r} gives {builtin.builtin_format(name)} data, "
            f"but the format is {fmt!r}"
        )
    size = source.get("size")
    if not isinstance(size, int) or isinstance(size, bool) or size <= 0:
        raise RunnerError(
            f"data source: builtin {name!r} needs a positive integer size (got {size!r})"
        )
    rows = builtin.generate(name, size, seed)
    jsonl = "".join(canonical_json(r) + "\n" for r in rows)
    return RawData(rows, sha256_text(jsonl), f"builtin:{name}")


def _load_jsonl(root: Path, rel: str, fmt: str) -> RawData:
    path = Path(rel)
    full = path if path.is_absolute() else root / path
    if not full.is_file():
        raise RunnerError(f"{rel}: data file not found")
    rows = read_jsonl(full, fmt, display=str(rel))
    return RawData(rows, sha256_file(full), f"path:{rel}")


def read_jsonl(path: Path, fmt: str, display: str | None = None) -> list[dict[str, str]]:
    """Parse JSON lines into rows of ``fmt``; errors name the file and the line."""
    name = display or str(path)
    rows = []
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                raise RunnerError(f"{name}:{lineno}: invalid JSON: {e.msg}") from None
            rows.append(_row(obj, fmt, f"{name}:{lineno}"))
    if not rows:
        raise RunnerError(f"{name}: no rows")
    return rows


def _row(obj: Any, fmt: str, where: str) -> dict[str, str]:
    if not isinstance(obj, dict):
        raise RunnerError(f"{where}: expected a JSON object, got {type(obj).__name__}")
    row = {}
    for col in COLUMNS[fmt]:
        if col not in obj:
            need = ", ".join(COLUMNS[fmt])
            raise RunnerError(f"{where}: missing column '{col}' (format {fmt} needs: {need})")
        row[col] = obj[col]
    for col in OPTIONAL_COLUMNS[fmt]:
        row[col] = obj.get(col) or ""
    for col, value in row.items():
        if not isinstance(value, str):
            raise RunnerError(
                f"{where}: column '{col}' must be a string (got {type(value).__name__})"
            )
    if fmt == "instruction":
        return {"instruction": row["instruction"], "input": row["input"], "output": row["output"]}
    return row
