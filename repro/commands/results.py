"""Verbs that read results back: ``show``, ``lineage``, ``diff``, ``verify``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from repro.commands import EXIT_FAILED, EXIT_OK, load_specs, require_valid, workspace_root
from repro.errors import ReproError
from repro.ui import style, table


def cmd_show(args: argparse.Namespace) -> int:
    from repro.results.show import HEADERS, metric_cells, spec_result

    root = workspace_root(args)
    if args.data:
        from repro.commands.data import show_data

        return show_data(args, root)
    entries, selected = load_specs(args, root)
    if getattr(args, "set", None):  # a bad override is a usage error, as in every verb
        require_valid(selected)
    results = [spec_result(root, e) for e in selected]
    if args.json:
        print(json.dumps(results, indent=2))
        return EXIT_OK
    rows = []
    for e, r in zip(selected, results, strict=True):
        status = "invalid" if e.errors else ("has results" if r["metrics"] else "no results")
        rows.append([e.name, r["method"], r["base"], status, *metric_cells(r["metrics"])])
    print(table(["spec", "method", "base", "status", *HEADERS], rows, right={4, 5, 6}))
    return EXIT_OK


def cmd_lineage(args: argparse.Namespace) -> int:
    from repro.results.ancestry import ancestry, render_tree, tree_json
    from repro.results.result import load_result

    result = load_result(args.result, Path(args.C) if args.C else None)
    tree = ancestry(result)
    if args.json:
        print(json.dumps({"result": args.result, "spec": result.spec,
                          "source": result.source.label, "notes": result.notes,
                          "metrics": result.metrics, "tree": tree_json(tree)}, indent=2))
        return EXIT_OK
    if tree.record is None:
        raise ReproError(f"{args.result}: no lineage records (build it first)")
    print(render_tree(tree))
    for note in result.notes:
        print(style(f"note: {note}", "dim"))
    return EXIT_OK


def cmd_diff(args: argparse.Namespace) -> int:
    from repro.results.diff import compare, render
    from repro.results.result import load_result

    cwd = Path(args.C) if args.C else None
    d = compare(load_result(args.a, cwd), load_result(args.b, cwd))
    if args.json:
        print(json.dumps(d.as_dict(), indent=2, default=str))
    else:
        print(render(d))
    return EXIT_FAILED if d.verdict == "reproducibility failure" else EXIT_OK


def cmd_verify(args: argparse.Namespace) -> int:
    from repro.results.diff import render
    from repro.results.verify import ABS_TOL, REL_TOL, verify

    root = Path(args.C).resolve() if args.C else Path.cwd()
    say = (lambda line: print(line, file=sys.stderr)) if args.json else print
    v = verify(root, args.result, keep=args.keep, say=say)
    if args.json:
        print(json.dumps(v.as_dict(), indent=2, default=str))
        return EXIT_OK if v.reproduced else EXIT_FAILED
    for note in v.notes:
        print(style(f"note: {note}", "dim"))
    print(render(v.diff))
    print()
    mode = ("bit for bit (same hardware)" if v.same_hardware
            else f"within rel {REL_TOL} / abs {ABS_TOL} (different hardware)")
    if v.reproduced:
        print(style(f"reproduced: {v.spec} rebuilt at {(v.commit or '')[:12]} matches "
                    f"{mode}", "green"))
    else:
        print(style(f"NOT reproduced: {len(v.mismatches)} output(s) differ ({mode})", "red"))
        for m in v.mismatches:
            print(f"  {m['key']}: {m['a']} -> {m['b']}")
    if args.keep:
        print(f"scratch copy kept: {v.scratch}")
    return EXIT_OK if v.reproduced else EXIT_FAILED
