"""Live progress of ``repro run``: which stage of how many runs now, for how long, how far along.

``reporter(json=...)`` picks how: on a terminal, a live view drawn with rich (the pipeline
line ``stage k/N``, elapsed time, and the running stage's progress bar with loss,
throughput and an ETA from its steps, fed by the stage through ``repro.contract.progress``);
otherwise (a pipe, a file, ``--json``) one plain line as each stage starts, and the stages
print their own plain lines. The run loop (``repro.pipeline.run.reproduce``) calls
``plan``/``start``/``end``; :func:`dvc_hooks` tells it when DVC plans and starts a command.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from typing import Any

from repro.contract import progress as events
from repro.contract.progress import fmt_duration


class Reporter:
    """Hears of the run's stages; this base class prints nothing."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.plan_names: list[str] = []
        self.current: str | None = None
        self.current_since = 0.0
        self.checking: str | None = None
        self.ran: list[str] = []
        self.failed: list[str] = []

    def position(self, name: str) -> tuple[int, int]:
        n = len(self.plan_names)
        k = self.plan_names.index(name) + 1 if name in self.plan_names else len(self.ran) + 1
        return k, max(n, k)

    def plan(self, names: list[str]) -> None:
        self.plan_names = list(names)

    def check(self, name: str) -> None:
        """DVC is checking whether ``name`` is up to date."""
        self.checking = name

    def start(self, name: str) -> None:
        """DVC is about to run ``name``'s command."""
        self.current, self.current_since = name, time.monotonic()

    def end(self, name: str, ran: bool, failed: bool) -> None:
        if failed:
            self.failed.append(name)
        elif ran:
            self.ran.append(name)
        if self.current == name:
            self.current = None
        if self.checking == name:
            self.checking = None

    def close(self) -> None:
        pass

    def __enter__(self) -> Reporter:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class Plain(Reporter):
    """One line per stage that runs, flushed at once: ``stage 2/3: train-x (elapsed 4 s)``."""

    def start(self, name: str) -> None:
        super().start(name)
        k, n = self.position(name)
        print(f"stage {k}/{n}: {name} (elapsed {time.monotonic() - self.started:.0f} s)",
              flush=True)


class LiveView(Reporter):
    """A rich live view at the bottom of the terminal; everything DVC and the stages print
    (file descriptors 1 and 2, read through a pipe) scrolls above it."""

    def __init__(self) -> None:
        super().__init__()
        import tempfile

        from rich.console import Console
        from rich.live import Live

        fd, self.events_path = tempfile.mkstemp(prefix="repro-progress-", suffix=".jsonl")
        os.close(fd)
        self.offset, self.tasks, self.partial = 0, {}, b""
        self._env = {k: os.environ.get(k) for k in (events.ENV, events.LINES_ENV)}
        os.environ[events.ENV], os.environ[events.LINES_ENV] = self.events_path, "0"
        sys.stdout.flush()
        sys.stderr.flush()
        self.saved = (os.dup(1), os.dup(2))
        self.term = open(self.saved[0], "w", buffering=1, closefd=False)  # noqa: SIM115
        self.console = Console(file=self.term, force_terminal=True)
        read, write = os.pipe()
        os.dup2(write, 1)
        os.dup2(write, 2)
        os.close(write)
        self.pump = threading.Thread(target=self._pump, args=(read,), daemon=True)
        self.pump.start()
        self.live = Live(console=self.console, get_renderable=self._render,
                         refresh_per_second=8, transient=True, redirect_stdout=False,
                         redirect_stderr=False)
        self.live.start()

    def _pump(self, fd: int) -> None:
        from rich.text import Text

        with os.fdopen(fd, "rb") as pipe:
            for raw in pipe:
                line = raw.decode("utf-8", "replace").rstrip("\n").split("\r")[-1]
                self.console.print(Text.from_ansi(line), soft_wrap=True)

    def end(self, name: str, ran: bool, failed: bool) -> None:
        k, n = self.position(name)
        took = fmt_duration(time.monotonic() - self.current_since) if self.current == name else ""
        super().end(name, ran, failed)
        if failed:
            self.console.print(f"[red]✗ stage {k}/{n} {name} failed[/] after {took}")
        elif ran:
            self.console.print(f"[green]✓[/] stage {k}/{n} {name} [dim]done in {took}[/]")

    def _read_events(self) -> None:
        import json

        try:
            with open(self.events_path, "rb") as f:
                f.seek(self.offset)
                data = f.read()
        except OSError:
            return
        self.offset += len(data)
        data, self.partial = self.partial + data, b""
        for line in data.split(b"\n"):
            if not line:
                continue
            try:
                event = json.loads(line)
            except ValueError:
                self.partial = line  # the rest of it comes with the next read
                continue
            self.tasks[event.get("stage") or self.current or ""] = event

    def _render(self) -> Any:
        from rich.progress_bar import ProgressBar
        from rich.table import Table
        from rich.text import Text

        self._read_events()
        grid = Table.grid(padding=(0, 1))
        head = Text.assemble(("repro run", "bold"), "  ")
        if self.current or self.checking:
            k, n = self.position(self.current or self.checking or "")
            head.append(f"stage {k}/{n}  ", style="bold cyan")
            if not self.current:
                head.append(f"checking {self.checking}  ", style="dim")
        head.append(f"elapsed {fmt_duration(time.monotonic() - self.started)}  "
                    f"ran {len(self.ran)}" + (f"  failed {len(self.failed)}" if self.failed else ""))
        grid.add_row(head)
        if self.current:
            event = self.tasks.get(self.current)
            line = Text(f"{self.current}  ", style="bold")
            line.append(fmt_duration(time.monotonic() - self.current_since), style="dim")
            if event is None or event.get("final"):
                line.append("  starting" if event is None else "  finishing", style="dim")
                grid.add_row(line)
            else:
                grid.add_row(line)
                grid.add_row(_task_row(event, ProgressBar))
        return grid

    def close(self) -> None:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(self.saved[0], 1)
        os.dup2(self.saved[1], 2)
        self.pump.join(timeout=2.0)  # EOF once no stage process holds the pipe
        self.live.stop()
        self.term.flush()
        for fd in self.saved:
            os.close(fd)
        for k, v in self._env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        with contextlib.suppress(OSError):
            os.unlink(self.events_path)


def _task_row(event: dict[str, Any], bar_class: Any) -> Any:
    """``label  [bar]  40/100 steps  loss 3.1  12.3 steps/s  5.1k tok/s  ETA 0:05``."""
    from rich.table import Table
    from rich.text import Text

    done, total, unit = event.get("done") or 0, event.get("total"), event.get("unit", "")
    elapsed = float(event.get("elapsed") or 0.0)
    row = Table.grid(padding=(0, 1))
    parts = [Text(f"  {event.get('label', '')}", style="cyan")]
    if total:
        parts.append(bar_class(total=total, completed=done, width=30))
    text = f"{done:,}/{total:,} {unit}" if total else f"{done:,} {unit}"
    if event.get("phase"):
        text += f"  {event['phase']}"
    metrics = event.get("metrics") or {}
    if "loss" in metrics:
        text += f"  loss {metrics['loss']:.4f}"
    if elapsed > 0 and done:
        text += f"  {done / elapsed:.1f} {unit}/s"
    if metrics.get("tokens_per_s"):
        text += f"  {metrics['tokens_per_s'] / 1000:.1f}k tok/s"
    eta = events.eta_seconds(done, total, elapsed)
    if eta is not None:
        text += f"  ETA {fmt_duration(eta)}"
    parts.append(Text(text))
    row.add_row(*parts)
    return row


def reporter(json: bool = False, stream: Any = None) -> Reporter:
    """A live view on a terminal; plain lines otherwise, or with ``--json`` (which send
    everything but the JSON to stderr); ``REPRO_PROGRESS_STYLE=plain`` forces plain lines."""
    stream = stream or sys.stdout
    tty = hasattr(stream, "isatty") and stream.isatty()
    if (json or not tty or os.environ.get("TERM") == "dumb"
            or os.environ.get("REPRO_PROGRESS_STYLE") == "plain"):
        return Plain()
    return LiveView()


@contextlib.contextmanager
def dvc_hooks(rep: Reporter):
    """Tell ``rep`` the stages DVC plans to check (in order) and when it starts a command:
    wraps ``dvc.repo.reproduce._reproduce`` and ``dvc.stage.run.cmd_run`` for the run."""
    from dvc.repo import reproduce as repro_mod
    from dvc.stage import run as run_mod

    plan_fn, cmd_fn = repro_mod._reproduce, run_mod.cmd_run

    def planned(stages, *args, **kwargs):
        rep.plan([s.addressing for s in stages])
        return plan_fn(stages, *args, **kwargs)

    def started(stage, *args, **kwargs):
        rep.start(stage.addressing)
        return cmd_fn(stage, *args, **kwargs)

    repro_mod._reproduce, run_mod.cmd_run = planned, started
    try:
        yield
    finally:
        repro_mod._reproduce, run_mod.cmd_run = plan_fn, cmd_fn
