"""The verbs of the ``repro`` command line: each calls its phase's operation and renders the result.

``repro/cli.py`` parses; the modules here mirror the phase packages (``spec``, ``pipeline``,
``data``, ``results``): a verb loads what it needs, calls the operation (callable from
Python without the CLI) and prints it, as a table or, with ``--json``, as JSON. The helpers
below are what every verb shares. Nothing heavy is imported at module level.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from repro.errors import ReproError

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def workspace_root(args: argparse.Namespace) -> Path:
    from repro.spec.workspace import find_root

    try:
        return find_root(Path(args.C) if args.C else None)
    except ReproError:
        # `repro validate some/file.yaml` works outside a workspace too
        files = [s for s in getattr(args, "specs", None) or [] if s.endswith((".yaml", ".yml"))]
        if files and len(files) == len(args.specs) and args.command == "validate":
            return Path(args.C or ".").resolve()
        raise


def writes(verb: str):
    """Run the decorated verb holding the workspace's write lock (``repro/pipeline/busy.py``);
    with ``--check`` a verb writes nothing and takes no lock."""
    import functools

    def deco(fn):
        @functools.wraps(fn)
        def wrapper(args: argparse.Namespace) -> int:
            if getattr(args, "check", False):
                return fn(args)
            from repro.pipeline.busy import hold

            with hold(workspace_root(args), getattr(args, "command", None) or verb,
                      getattr(args, "wait", None)):
                return fn(args)
        return wrapper
    return deco


def load_specs(args: argparse.Namespace, root: Path):
    """Load every spec (and files named on the command line); returns (all, selected)."""
    from repro.spec.workspace import load_workspace, select

    wanted = list(getattr(args, "specs", None) or [])
    extra = []
    for w in wanted:
        p = Path(w)
        if p.suffix in (".yaml", ".yml"):
            if not p.is_file():
                raise ReproError(f"{w}: no such spec file")
            extra.append(p)
    entries = load_workspace(root, getattr(args, "set", None) or (), extra, wanted)
    if not entries:
        raise ReproError(
            f"no specs in {root / 'specs'}: add a YAML spec there (see README), "
            "or start from 'repro init'"
        )
    return entries, select(entries, root, wanted)


def print_spec_errors(entries) -> int:
    n = 0
    for e in entries:
        for error in e.errors:
            n += 1
            print(error.format(), file=sys.stderr)
    return n


def require_valid(entries) -> None:
    """Print every spec error and stop if any spec has one."""
    bad = [e for e in entries if e.errors]
    if bad:
        n = print_spec_errors(bad)
        names = ", ".join(e.name for e in bad)
        raise ReproError(f"{n} error(s) in {len(bad)} spec(s) ({names}); nothing was changed")
