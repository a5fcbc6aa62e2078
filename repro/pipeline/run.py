"""Run things: the stale stages through DVC (``repro run``), and a runner's ML half as a subprocess.

We call DVC's own ``Repo.reproduce`` (the code behind ``dvc repro``) rather than a
subprocess, so a no-op ``repro`` costs about what a no-op ``dvc repro`` costs, and we
learn exactly which stages ran. DVC is imported here, lazily: ``repro validate`` and
friends never pay for it.

The control plane never imports ``runners``: what needs the ML stack outside a stage
(``repro plan``, ``repro export``, a built-in data set's hash for ``repro pin``) runs as
``python -m runners.<x>`` in the workspace root, like the stages, and prints its result
as one line of JSON (``run_runner``).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from repro.contract import paths
from repro.contract.paths import PARAMS_FILE
from repro.contract.worker import OFF_ENV, OWNER_ENV, WORKER_ENV
from repro.errors import ReproError, ReproFailure


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


def status_for(spec: str, graph: Any, result: RunResult,
               root: Path | None = None) -> tuple[str, str | None]:
    """A spec's status after a run, for the summary: ``(text, colour)``."""
    stages = graph.spec_stages(spec)
    failed = [s.kind for s in stages if s.name in result.failed]
    ran = [s.kind for s in stages if s.name in result.ran]
    if failed:
        gates = failed_gates(root, spec) if root is not None and "evaluate" in failed else []
        if gates:
            return "FAILED gate " + "; ".join(gates), "red"
        return "FAILED " + ", ".join(failed), "red"
    upstream_failed = sorted(graph.upstream(spec) & set(result.failed))
    if upstream_failed:
        return f"skipped ({upstream_failed[0]} failed)", "red"
    if ran:
        return "ran " + ", ".join(ran), "yellow"
    if result.error and not result.ran:
        return "not run", None
    return "up to date", "green"


def failed_gates(root: Path, spec: str) -> list[str]:
    """The failed regression gates of a spec's last evaluation (runs/<spec>/gates.json)."""

    path = root / paths.spec_dir(spec) / paths.GATES
    try:
        result = json.loads(path.read_text(encoding="utf-8"))
        return [f"{g['metric']} {g['value']:g} vs {g['kind']} {g['threshold']:g}"
                for g in result["gates"] if not g["passed"]]
    except (OSError, ValueError, KeyError, TypeError):
        return []


def run_specs(root: Path, entries: list, selected: list, *, targets: list[str] | None,
              force: bool = False, quiet: bool = False,
              on_written: Any = None, progress: Any = None) -> tuple[Any, RunResult]:
    """``repro run``: stop if a pinned local source changed, compile (writing what changed;
    ``on_written(names)`` hears of it), then reproduce ``targets`` (all stages if None).
    ``quiet``: DVC's and the stages' output goes to stderr. ``progress``: a
    ``repro.pipeline.progress.Reporter`` (none: no progress). Returns ``(graph, result)``."""
    from repro.data.pin import require_pins
    from repro.pipeline.compiler import compile_workspace, write_compiled

    require_pins(root, entries, selected)
    compiled = compile_workspace(root, entries)
    written = write_compiled(root, compiled)
    if written and on_written is not None:
        on_written(written)
    with stdout_to_stderr() if quiet else contextlib.nullcontext():
        result = reproduce(root, targets, force=force, progress=progress)
    return compiled.graph, result


def run_runner(root: Path, module: str, args: list[str], params_yaml: str | None = None) -> Any:
    """``python -m <module> ARGS`` in ``root``; returns its last stdout line, parsed as JSON.

    ``params_yaml``: the params it reads, written to a temporary folder passed as
    ``--params-dir`` (e.g. freshly compiled specs with ``--set`` overrides, never written
    to the workspace). Its other output goes to our stderr. A failure raises ReproFailure
    with the runner's own ``error:`` line, or says how it exited."""
    cmd = [sys.executable, "-m", module, *args]
    with tempfile.TemporaryDirectory(prefix="repro-params-") as tmp:
        if params_yaml is not None:
            (Path(tmp) / PARAMS_FILE).write_text(params_yaml, encoding="utf-8")
            cmd += ["--params-dir", tmp]
        proc = subprocess.run(cmd, cwd=root, capture_output=True, text=True, encoding="utf-8")
    out, errs = proc.stdout.splitlines(), proc.stderr.splitlines()
    error = None
    if proc.returncode and errs and errs[-1].startswith("error: "):
        error = errs.pop().removeprefix("error: ")
    for line in [*errs, *out[:-1]]:
        print(line, file=sys.stderr)
    if proc.returncode:
        raise ReproFailure(error or f"python -m {module} failed (exit code {proc.returncode})")
    try:
        return json.loads(out[-1])
    except (IndexError, ValueError):
        if out:
            print(out[-1], file=sys.stderr)
        raise ReproFailure(f"python -m {module}: no JSON result on its last output line") from None


@contextlib.contextmanager
def warm_worker():
    """For the length of a run, point the stages at a warm worker (``runners/warm.py``):
    the first stage that runs starts it, the others fork from it instead of importing the
    ML stack again. ``REPRO_NO_WORKER=1`` turns it off; the results are the same bytes.
    Not on a machine with an NVIDIA driver: a process forked after CUDA was touched cannot
    use CUDA, so there every stage keeps its own process."""
    from repro.contract.hardware import nvidia_driver

    if os.environ.get(OFF_ENV) or os.environ.get(WORKER_ENV) or nvidia_driver():
        yield
        return
    folder = tempfile.mkdtemp(prefix="repro-worker-")
    sock = os.path.join(folder, "worker.sock")
    os.environ[WORKER_ENV], os.environ[OWNER_ENV] = sock, str(os.getpid())
    try:
        yield
    finally:
        os.environ.pop(WORKER_ENV, None)
        os.environ.pop(OWNER_ENV, None)
        with contextlib.suppress(OSError, ValueError):
            os.kill(int(Path(sock + ".pid").read_text()), signal.SIGTERM)
        shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def params_read_once():
    """DVC parses ``params.yaml`` again for every stage's params (with pure-Python YAML: most
    of a no-op run over 28 stages). Within one run, parse each version of a params file once;
    every caller gets its own copy, so nothing DVC does to one can leak into another."""
    import copy

    from dvc.dependency import param

    original = param.load_path
    parsed: dict[tuple, Any] = {}

    def load_path(fs_path, fs, **kwargs):
        try:
            st = os.stat(fs_path)
        except (OSError, TypeError):
            return original(fs_path, fs, **kwargs)
        key = (fs_path, type(fs).__name__, st.st_mtime_ns, st.st_size, tuple(sorted(kwargs)))
        if key not in parsed:
            parsed[key] = original(fs_path, fs, **kwargs)
        return copy.deepcopy(parsed[key])

    param.load_path = load_path
    try:
        yield
    finally:
        param.load_path = original


def reproduce(root: Path, targets: list[str] | None = None, force: bool = False,
              progress: Any = None) -> RunResult:
    require_dvc(root)
    from repro.pipeline.progress import Reporter, dvc_hooks

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
    progress = progress or Reporter()

    def repro_fn(stage, **kwargs):
        progress.check(stage.addressing)
        try:
            ret = _reproduce_stage(stage, **kwargs)
        except Exception:
            result.failed.append(stage.addressing)
            progress.end(stage.addressing, ran=False, failed=True)
            raise
        if ret:
            result.ran.append(stage.addressing)
        progress.end(stage.addressing, ran=bool(ret), failed=False)
        return ret

    try:
        with warm_worker(), params_read_once(), dvc_hooks(progress), Repo(str(root)) as repo:
            repo.reproduce(
                targets=targets or None,
                force=force,
                on_error="keep-going",
                repro_fn=repro_fn,
            )
    except DvcException as e:  # ReproductionError (a stage failed) included
        if type(e).__name__ == "LockError" and not result.ran and not result.failed:
            from repro.pipeline.busy import WorkspaceBusy

            raise WorkspaceBusy(f"the workspace is busy: another DVC process holds its lock "
                                f"({e}); nothing was run") from None
        result.error = str(e)
    return result


def export_model(root: Path, entries: list, name: str, output: str | Path | None = None
                 ) -> dict[str, Any]:
    """``repro export``: ``python -m runners.export`` on the freshly compiled specs;
    ``{"spec", "merged", "out"}`` (``out`` as given, or the default under runs/)."""
    from repro.pipeline.compiler import params_text

    params_yaml = params_text(root, entries)
    args = [name, "--root", str(root)]
    if output is not None:
        args += ["-o", str(Path(output).resolve())]
    info = run_runner(root, "runners.export", args, params_yaml=params_yaml)
    if output is not None:
        info["out"] = str(output)
    return info
