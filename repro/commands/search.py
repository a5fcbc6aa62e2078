"""Sweep verbs: ``repro search`` (run or join a spec's study) and ``repro promote``."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

from repro.commands import EXIT_OK, load_specs, require_valid, workspace_root
from repro.errors import ReproError, ReproFailure


def _one(args: argparse.Namespace):
    root = workspace_root(args)
    entries, selected = load_specs(args, root)
    if len(selected) != 1:
        raise ReproError("name exactly one sweep spec")
    require_valid(selected)
    return root, entries, selected[0]


def cmd_search(args: argparse.Namespace) -> int:
    """Compile, then run the sweep worker (outside DVC: to join a study from another
    machine, or to run with more workers than the spec says)."""
    from repro.pipeline.compiler import compile_workspace, write_compiled

    root, entries, entry = _one(args)
    if entry.spec.search is None:
        raise ReproError(f"{entry.file}: has no search section")
    write_compiled(root, compile_workspace(root, [e for e in entries if e.ok]))
    cmd = [sys.executable, "-m", "runners.search.worker", entry.name]
    if args.workers:
        cmd += ["--workers", str(args.workers)]
    if args.join:
        cmd.append("--join")
    code = subprocess.run(cmd, cwd=root).returncode
    if code:
        raise ReproFailure(f"the sweep of {entry.name} failed (exit code {code})")
    return EXIT_OK


def cmd_promote(args: argparse.Namespace) -> int:
    from repro.search.promote import promote

    root, _, entry = _one(args)
    out = promote(root, entry, args.trial, args.name)
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        print(f"wrote {out['file']}: trial {out['trial']} of study {out['study']} "
              f"(values {out['values']}); build it with `repro run {out['spec']}`")
    return EXIT_OK
