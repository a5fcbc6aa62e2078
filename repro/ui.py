"""Terminal output: aligned tables, colour only on a terminal (and never with NO_COLOR)."""

from __future__ import annotations

import os
import sys
from typing import Any

_CODES = {"red": "31", "green": "32", "yellow": "33", "blue": "34", "bold": "1", "dim": "2"}


def use_colour(stream: Any = None) -> bool:
    stream = stream or sys.stdout
    if os.environ.get("NO_COLOR") or os.environ.get("REPRO_NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return hasattr(stream, "isatty") and stream.isatty()


def style(text: str, colour: str, stream: Any = None) -> str:
    if not use_colour(stream):
        return text
    return f"\033[{_CODES[colour]}m{text}\033[0m"


def _visible_len(text: str) -> int:
    import re

    return len(re.sub(r"\033\[[0-9;]*m", "", text))


def table(headers: list[str], rows: list[list[Any]], right: set[int] | None = None) -> str:
    """An aligned plain-text table; numbers right-aligned."""
    cells = [[("" if c is None else str(c)) for c in row] for row in rows]
    right = right if right is not None else {
        i for i in range(len(headers))
        if rows and all(isinstance(r[i], (int, float)) or r[i] in (None, "", "-") for r in rows)
        and any(isinstance(r[i], (int, float)) for r in rows)
    }
    widths = [len(h) for h in headers]
    for row in cells:
        for i, c in enumerate(row):
            widths[i] = max(widths[i], _visible_len(c))

    def fmt(row: list[str]) -> str:
        out = []
        for i, c in enumerate(row):
            pad = " " * (widths[i] - _visible_len(c))
            out.append(pad + c if i in right else c + pad)
        return "  ".join(out).rstrip()

    lines = [fmt(headers), "  ".join("-" * w for w in widths)]
    lines += [fmt(r) for r in cells]
    return "\n".join(lines)


def err(message: str) -> None:
    print(f"{style('error', 'red', sys.stderr)}: {message}", file=sys.stderr)


def fmt_num(value: Any, digits: int = 4) -> Any:
    if isinstance(value, float):
        return f"{value:.{digits}g}" if abs(value) >= 1000 else f"{value:.{digits}f}".rstrip("0").rstrip(".") or "0"
    return value
