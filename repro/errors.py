"""User-facing errors, formatted like a compiler's: ``file:line:col: field: message``."""

from __future__ import annotations

from dataclasses import dataclass


class ReproError(Exception):
    """An error caused by the user's input. The CLI prints it and exits 2."""

    exit_code = 2


class ReproFailure(ReproError):
    """Something ran and failed (a rebuild, a verification): exit code 1."""

    exit_code = 1


@dataclass(frozen=True)
class Pos:
    """A source position, 1-based. ``line == 0`` means 'no line' (e.g. a --set override)."""

    file: str
    line: int = 0
    col: int = 0

    def __str__(self) -> str:
        if self.line:
            return f"{self.file}:{self.line}:{self.col}"
        return self.file


class SpecError(ReproError):
    """One problem in one spec, with where it is and, when we can tell, how to fix it."""

    def __init__(
        self,
        message: str,
        *,
        pos: Pos | None = None,
        field: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.pos = pos
        self.field = field
        self.hint = hint

    def format(self) -> str:
        parts = []
        if self.pos is not None:
            parts.append(str(self.pos))
        if self.field:
            parts.append(self.field)
        parts.append(self.message)
        text = ": ".join(parts)
        if self.hint:
            text += f" ({self.hint})"
        return text

    def as_dict(self) -> dict:
        return {
            "file": self.pos.file if self.pos else None,
            "line": self.pos.line if self.pos else None,
            "col": self.pos.col if self.pos else None,
            "field": self.field,
            "message": self.message,
            "hint": self.hint,
        }

    def __str__(self) -> str:
        return self.format()


class SpecErrors(ReproError):
    """Several spec errors reported together (a compiler reports them all, not just the first)."""

    def __init__(self, errors: list[SpecError]) -> None:
        super().__init__("\n".join(e.format() for e in errors))
        self.errors = errors
