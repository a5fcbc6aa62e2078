"""Verbs about spec files and workspaces: ``validate``, ``upgrade``, ``schema``, ``init``."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from repro.commands import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    load_specs,
    print_spec_errors,
    workspace_root,
    writes,
)
from repro.ui import style


def cmd_validate(args: argparse.Namespace) -> int:
    t0 = time.perf_counter()
    root = workspace_root(args)
    entries, selected = load_specs(args, root)
    n_errors = sum(len(e.errors) for e in selected)
    if args.json:
        print(json.dumps([
            {"spec": e.name, "file": e.file, "ok": not e.errors,
             "errors": [x.as_dict() for x in e.errors]} for e in selected
        ], indent=2))
    else:
        print_spec_errors(selected)
        if not n_errors:
            ms = (time.perf_counter() - t0) * 1000
            names = ", ".join(e.name for e in selected)
            print(f"{style('ok', 'green')}: {len(selected)} spec(s) valid ({names}) in {ms:.0f} ms")
        else:
            bad = sum(1 for e in selected if e.errors)
            print(f"{n_errors} error(s) in {bad} spec(s)", file=sys.stderr)
    return EXIT_USAGE if n_errors else EXIT_OK


@writes("upgrade")
def cmd_upgrade(args: argparse.Namespace) -> int:
    from repro.spec.schema import SPEC_VERSION
    from repro.spec.workspace import upgrade_specs

    root = workspace_root(args)
    report = upgrade_specs(root, list(args.specs), check=args.check)
    stale = [r for r in report if r["changes"]]
    if args.json:
        print(json.dumps({"spec_version": SPEC_VERSION, "check": args.check, "files": report},
                         indent=2))
    else:
        for r in stale:
            verb = "needs upgrading" if args.check else "upgraded"
            print(f"{r['file']}: {verb}: " + "; ".join(r["changes"]))
        if not stale:
            print(f"{style('ok', 'green')}: {len(report)} file(s) already at spec_version "
                  f"{SPEC_VERSION}")
        elif not args.check:
            print(f"{len(stale)} file(s) rewritten in place (comments kept); "
                  "the compiled specs are unchanged")
    return EXIT_FAILED if (args.check and stale) else EXIT_OK


def cmd_schema(args: argparse.Namespace) -> int:
    from repro.spec.reference import markdown_reference
    from repro.spec.schema import json_schema

    text = markdown_reference() if args.markdown else json.dumps(json_schema(), indent=2) + "\n"
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"wrote {args.output}")
    else:
        sys.stdout.write(text)
    return EXIT_OK


def cmd_init(args: argparse.Namespace) -> int:
    from repro.pipeline.scaffold import init_workspace

    path = Path(args.dir)
    init_workspace(path)
    print(f"created a repro workspace in {path}")
    print(f"next: cd {path} && repro")
    return EXIT_OK
