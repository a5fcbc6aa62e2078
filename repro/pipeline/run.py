"""Run what is stale, through DVC, in this process.

We call DVC's own ``Repo.reproduce`` (the code behind ``dvc repro``) rather than a
subprocess, so a no-op ``repro`` costs about what a no-op ``dvc repro`` costs, and we
learn exactly which stages ran. DVC is imported here, lazily: ``repro validate`` and
friends never pay for it.
"""

from __future__ import annotations

import contextlib
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from repro.errors import ReproError


@dataclass
class RunResult:
    ran: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return not self.failed and self.error is None


def _python_on_path() -> None:
    """Stage commands say ``python``: make that this interpreter (e.g. the project's venv)."""
    bindir = str(Path(sys.executable).parent)
    current = os.environ.get("PATH", "")
    if current.split(os.pathsep)[:1] != [bindir]:
        os.environ["PATH"] = bindir + (os.pathsep + current if current else "")


@contextlib.contextmanager
def stdout_to_stderr():
    """Send everything written to fd 1 (DVC's log, stage output) to fd 2, e.g. under --json."""
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def require_dvc(root: Path) -> None:
    if not (root / ".dvc").is_dir():
        raise ReproError(
            f"{root} is not a DVC repository; run 'dvc init' there (or 'repro init' for a new "
            "workspace)"
        )


def reproduce(root: Path, targets: list[str] | None = None, force: bool = False) -> RunResult:
    require_dvc(root)
    _python_on_path()
    from dvc.exceptions import DvcException
    from dvc.repo import Repo
    from dvc.repo.reproduce import _reproduce_stage
    from dvc.ui import ui

    ui.enable()  # importing dvc already set up its loggers
    # DVC's "to track the changes with git, run: ..." hint: we print our own, shorter one
    import logging

    logging.getLogger("dvc.repo.scm_context").setLevel(logging.WARNING)
    result = RunResult()

    def repro_fn(stage, **kwargs):
        try:
            ret = _reproduce_stage(stage, **kwargs)
        except Exception:
            result.failed.append(stage.addressing)
            raise
        if ret:
            result.ran.append(stage.addressing)
        return ret

    try:
        with Repo(str(root)) as repo:
            repo.reproduce(
                targets=targets or None,
                force=force,
                on_error="keep-going",
                repro_fn=repro_fn,
            )
    except DvcException as e:  # ReproductionError (a stage failed) included
        result.error = str(e)
    return result
