"""Verbs that read results back: ``show``, ``lineage``, ``diff``, ``verify``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from repro.commands import EXIT_FAILED, EXIT_OK, load_specs, require_valid, workspace_root
from repro.errors import ReproError
from repro.ui import style


def cmd_show(args: argparse.Namespace) -> int:
    from repro.results import table as t
    from repro.results.show import experiment_rows

    root = workspace_root(args)
    if args.data:
        from repro.commands.data import show_data

        return show_data(args, root)
    entries, selected = load_specs(args, root)
    if getattr(args, "set", None):  # a bad override is a usage error, as in every verb
        require_valid(selected)
    rows = experiment_rows(root, entries, selected, trials=not args.no_trials)
    cols = t.columns(rows)
    rows = t.where(rows, cols, args.where or [])
    if args.sort:
        rows = t.sort(rows, cols, args.sort, args.reverse)
    elif args.reverse:
        rows = rows[::-1]
    if args.columns:
        cols = t.pick(cols, [c.strip() for c in args.columns.split(",") if c.strip()])
    if args.json:
        print(json.dumps(rows, indent=2, default=str))
    elif args.csv:
        print(t.render_csv(rows, cols))
    elif args.md:
        print(t.render_md(rows, cols))
    else:
        print(t.render_text(rows, cols, _width()))
    return EXIT_OK


def _width() -> int | None:
    """The terminal's width when printing to one (or $COLUMNS); else no limit."""
    import os
    import shutil

    if sys.stdout.isatty() or os.environ.get("COLUMNS"):
        return shutil.get_terminal_size().columns
    return None


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
    from repro.results.sources import parse_ref

    cwd = Path(args.C) if args.C else None
    a = parse_ref(args.a, cwd)
    b = parse_ref(args.b, cwd) if args.b else None
    if a.kind == "revision" and (b is None or b.kind == "revision"):
        return _diff_revisions(args, a, b)
    if b is None:
        raise ReproError(f"{args.a}: a result needs another to compare with (repro diff A B); "
                         "one git revision is compared with the workspace (repro diff REV)")
    if "revision" in (a.kind, b.kind):
        rev = args.a if a.kind == "revision" else args.b
        raise ReproError(f"{rev}: a git revision, compared with a result: give two results "
                         f"(REV:specs/<name>.yaml names one at a revision) or two revisions")
    return _diff_results(args, a, b)


def _diff_results(args: argparse.Namespace, a, b) -> int:
    from repro.results.diff import compare, render
    from repro.results.result import load_ref

    d = compare(load_ref(a), load_ref(b))
    if args.json:
        print(json.dumps(d.as_dict(), indent=2, default=str))
    else:
        print(render(d, expand=args.expand))
    return EXIT_FAILED if d.verdict == "reproducibility failure" else EXIT_OK


def _diff_revisions(args: argparse.Namespace, a, b) -> int:
    from repro.results.revdiff import compare_revisions
    from repro.results.revview import render_markdown, render_text

    d = compare_revisions(a.root, a.text, b.text if b else None)
    if args.json:
        print(json.dumps(d.as_dict(), indent=2, default=str))
    elif args.md:
        print(render_markdown(d, expand=args.expand))
    else:
        print(render_text(d, expand=args.expand))
    return EXIT_FAILED if d.failures else EXIT_OK


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
    print(render(v.diff, verdict=False))
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


def cmd_plots(args: argparse.Namespace) -> int:
    from repro.results.plots import write_plots

    root = workspace_root(args)
    _, selected = load_specs(args, root)
    out = Path(args.output) if args.output else root / "runs" / "_plots"
    written = write_plots(root, [e.name for e in selected], out, images=not args.no_png)
    if args.json:
        print(json.dumps({"files": [str(p) for p in written]}, indent=2))
    else:
        pngs = len(written) - 1
        print(f"wrote {written[0]}" + (f" and {pngs} PNG chart(s) next to it" if pngs else ""))
    return EXIT_OK


def cmd_report(args: argparse.Namespace) -> int:
    from repro.results.report import write_report

    root = workspace_root(args)
    entries, selected = load_specs(args, root)
    out = Path(args.output) if args.output else root / "runs" / "_report" / "index.html"
    page = write_report(root, entries, selected, out)
    if args.json:
        print(json.dumps({"file": str(page)}, indent=2))
    else:
        print(f"wrote {page} (one self-contained page: open it in a browser, offline)")
    return EXIT_OK
