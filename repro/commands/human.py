"""Verbs of human evaluation: ``human export`` (the blind sheet) and ``human import`` (judgments)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from repro.commands import EXIT_OK, load_specs, require_valid, workspace_root
from repro.errors import ReproError


def _human_args(args: argparse.Namespace) -> tuple[Path, list, str]:
    root = workspace_root(args)
    entries, _ = load_specs(argparse.Namespace(specs=[], set=[]), root)
    require_valid(entries)
    return root, entries, args.spec


def cmd_export(args: argparse.Namespace) -> int:
    from repro.human.ops import export

    root, entries, name = _human_args(args)
    info = export(root, entries, name, force=args.force)
    if args.json:
        print(json.dumps(info, indent=2))
    else:
        print(f"exported sheet {info['sheet_id']}: {info['items']} items "
              f"({info['prompts']} prompts x {len(info['systems'])} specs, in pairs), "
              f"sides and order shuffled")
        print(f"  hand out {info['html']} (or {info['csv']}); keep {info['key']} to yourself")
        print(f"  then: repro human import {name} judgments-NAME.json")
    return EXIT_OK


def cmd_import(args: argparse.Namespace) -> int:
    from repro.human.ops import import_judgments

    root, entries, name = _human_args(args)
    if not args.files:
        raise ReproError("name the judgments file(s) to import")
    done = import_judgments(root, entries, name, args.files, args.annotator, args.replace)
    if args.json:
        print(json.dumps(done, indent=2))
    else:
        for d in done:
            print(f"imported {d['judgments']} of {d['of']} items judged by {d['annotator']} "
                  f"-> {d['to']}")
        print(f"score them: repro run {name}")
    return EXIT_OK


def add_parsers(add) -> None:
    """``repro human {export,import}`` under the CLI's ``add`` helper."""
    h = add("human", None, "human evaluation: a blind side-by-side sheet out, judgments in "
            "(scored by the spec's human-eval stage)")
    sub = h.add_subparsers(dest="human_command", metavar="VERB", required=True)
    ex = sub.add_parser("export", help="write the blind sheet (HTML + CSV) and its key for "
                        "SPEC's human_eval section", description="write the blind sheet (HTML "
                        "+ CSV) and its key for SPEC's human_eval section")
    ex.set_defaults(func=cmd_export)
    ex.add_argument("spec", metavar="SPEC", help="a spec with a human_eval section")
    ex.add_argument("--force", action="store_true",
                    help="write a new sheet even though judgments of an older one exist")
    im = sub.add_parser("import", help="check judgments files against the sheet's key and add "
                        "them", description="check judgments files (the sheet's JSON, or the "
                        "filled-in CSV) against the sheet's key; write "
                        "judgments/ANNOTATOR.json, or nothing if a file is bad")
    im.set_defaults(func=cmd_import)
    im.add_argument("spec", metavar="SPEC", help="a spec with a human_eval section")
    im.add_argument("files", nargs="*", metavar="FILE", help="judgments .json or .csv files")
    im.add_argument("--annotator", metavar="NAME",
                    help="who judged (for a CSV without an annotator column)")
    im.add_argument("--replace", action="store_true",
                    help="overwrite an annotator's earlier judgments")
    for sp in (ex, im):
        sp.add_argument("-C", metavar="DIR", help="run as if started in DIR",
                        default=argparse.SUPPRESS)
        sp.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                        help="machine-readable output")
