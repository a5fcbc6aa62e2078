"""Live progress from a stage to the ``repro`` that runs it: JSON lines appended to one file.

``repro run`` on a terminal sets ``REPRO_PROGRESS`` to a file it tails and draws from, and
``REPRO_PROGRESS_LINES=0`` so stages do not also print their periodic plain lines. Without
it (plain ``dvc repro``, output to a file or a pipe, ``--json``) a stage prints plain lines
every few seconds, as it always did. A stage reports through :func:`task`:

    bar = progress.task("steps", total=200, label="train")
    bar.update(40, loss=3.1, tokens_per_s=5120.0)

Each event is one line, written with one ``write`` to a file opened for appending (atomic for
lines this short), so several processes may report into the same file. Writes are throttled
(at most every ``EVERY_S``); the first and last are always written. Standard library only.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from typing import Any

ENV = "REPRO_PROGRESS"  # the events file the parent reads
LINES_ENV = "REPRO_PROGRESS_LINES"  # "0": the parent draws progress; print no periodic lines
STAGE_ENV = "DVC_STAGE"  # DVC names the stage it runs in every command's environment
EVERY_S = 0.25  # at most this often into the events file
PRINT_EVERY_S = 2.0  # at most this often as a plain line


def lines() -> bool:
    """Whether a stage should print its periodic plain progress lines."""
    return os.environ.get(LINES_ENV, "1") != "0"


def _emit(event: dict[str, Any]) -> None:
    path = os.environ.get(ENV)
    if not path:
        return
    line = (json.dumps(event, separators=(",", ":"), default=float) + "\n").encode("utf-8")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line)
        finally:
            os.close(fd)
    except OSError:
        pass  # progress is a courtesy: never fail a stage over it


def eta_seconds(done: float, total: float | None, elapsed: float) -> float | None:
    """Seconds left at the rate so far, or None before there is a rate."""
    if not total or done <= 0 or elapsed <= 0 or done >= total:
        return 0.0 if total and done >= total else None
    return elapsed / done * (total - done)


def fmt_duration(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    s = int(round(seconds))
    if s < 60:
        return f"{s}s"
    m, s = divmod(s, 60)
    if m < 60:
        return f"{m}:{s:02d}"
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}"


class Task:
    """One measured piece of a stage's work (steps, rows, examples)."""

    def __init__(self, unit: str, total: int | None, label: str,
                 say: Callable[[str], None] | None) -> None:
        self.unit, self.total, self.label = unit, total, label
        self.say = say if say is not None and lines() else None
        self.stage = os.environ.get(STAGE_ENV, "")
        self.started = time.monotonic()
        self.done = 0
        self.phase: str | None = None
        self.metrics: dict[str, float] = {}
        self._written = self._printed = 0.0
        self._event(force=True)

    def update(self, done: int, total: int | None = None, phase: str | None = None,
               **metrics: float) -> None:
        self.done = done
        if total is not None:
            self.total = total
        if phase is not None:
            self.phase = phase
        self.metrics.update({k: float(v) for k, v in metrics.items() if v is not None})
        self._event()

    def advance(self, n: int = 1, **metrics: float) -> None:
        self.update(self.done + n, **metrics)

    def close(self) -> None:
        self._event(force=True, final=True)

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def line(self) -> str:
        """The task as one plain line: ``train: 40/200 steps  loss 3.1  12.0 steps/s  eta 13s``."""
        total = f"/{self.total}" if self.total else ""
        parts = [f"{self.label}: {self.done}{total} {self.unit}"]
        if self.phase:
            parts.append(self.phase)
        parts += [f"{k} {v:.4g}" for k, v in self.metrics.items()]
        rate = self.done / self.elapsed if self.elapsed > 0 else 0.0
        parts.append(f"{rate:.1f} {self.unit}/s")
        eta = eta_seconds(self.done, self.total, self.elapsed)
        if eta is not None:
            parts.append(f"eta {fmt_duration(eta)}")
        return "  ".join(parts)

    def _event(self, force: bool = False, final: bool = False) -> None:
        now = time.monotonic()
        if force or now - self._written >= EVERY_S:
            self._written = now
            _emit({"stage": self.stage, "label": self.label, "unit": self.unit,
                   "done": self.done, "total": self.total, "phase": self.phase,
                   "metrics": self.metrics, "elapsed": round(self.elapsed, 3),
                   "final": final, "pid": os.getpid()})
        if self.say is not None and not final and self.done and (
                now - self._printed >= PRINT_EVERY_S):
            if self._printed:  # not on the first update: quick tasks print nothing
                self.say(self.line())
            self._printed = now


def task(unit: str, total: int | None = None, label: str = "",
         say: Callable[[str], None] | None = None) -> Task:
    """Start reporting a piece of work. ``say``: where plain lines go (none if not given or
    when the parent draws progress itself)."""
    return Task(unit, total, label or unit, say)
