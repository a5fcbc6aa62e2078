"""The ``repro`` command line, wiring only: parse, call the verb (``repro/commands/``), map errors.

Exit codes: 0 success, 1 a run failed (or ``compile --check`` found stale files),
2 a user error (a bad spec, a bad argument), 3 the workspace is busy (another repro
command is writing it; nothing was run). User errors never print a traceback.
This module imports nothing heavy: ``repro validate`` answers in a fraction of a second.
"""

from __future__ import annotations

import argparse
import sys

from repro import __version__
from repro.commands import EXIT_OK, EXIT_USAGE, data, human, pipeline, results, search, spec
from repro.errors import ReproError, SpecErrors
from repro.ui import err

# ----------------------------------------------------------------------------- parser

WRITERS = ("compile", "run", "pin", "export", "upgrade")  # take the workspace lock (--wait)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="repro",
        description="Versioned experiment specs in, reproducible results out. With no command: "
        "compile specs/ to dvc.yaml, run every stale stage, print a summary.",
    )
    p.add_argument("--version", action="version", version=f"repro {__version__}")
    p.add_argument("-C", metavar="DIR", help="run as if started in DIR")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--wait", type=float, metavar="SECONDS", default=None,
                   help="when another repro command is writing the workspace, wait up to "
                   "SECONDS for it (default: say so and exit 3)")
    p.set_defaults(func=pipeline.cmd_run, specs=[], set=[], force=False)
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    def add(name: str, func, help: str, specs: bool = False, overrides: bool = False):
        sp = sub.add_parser(name, help=help, description=help)
        sp.set_defaults(func=func)
        sp.add_argument("-C", metavar="DIR", help="run as if started in DIR",
                        default=argparse.SUPPRESS)
        sp.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                        help="machine-readable output")
        if name in WRITERS:
            sp.add_argument("--wait", type=float, metavar="SECONDS", default=argparse.SUPPRESS,
                            help="wait up to SECONDS for another repro command writing the "
                            "workspace (default: say so and exit 3)")
        if specs:
            sp.add_argument("specs", nargs="*", metavar="SPEC",
                            help="spec names or files (default: all in specs/)")
        if overrides:
            sp.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                            help="override a field of the named specs only (never of their "
                            "bases), e.g. --set train.optimizer.lr=1e-3")
        return sp

    add("validate", spec.cmd_validate, "check specs; print file:line:col: field: problem",
        specs=True, overrides=True)
    c = add("compile", pipeline.cmd_compile, "write dvc.yaml and params.yaml from specs/")
    c.add_argument("--check", action="store_true",
                   help="write nothing; exit 1 if the committed files are stale")
    r = add("run", pipeline.cmd_run, "compile, then run the stale stages of SPECs (default: all)",
            specs=True, overrides=True)
    r.add_argument("--force", action="store_true", help="re-run stages even if up to date")
    sh = add("show", results.cmd_show, "the experiments table: a row per spec (and sweep "
             "trial) with its state (up to date, stale and why, failed, not built), method, "
             "base, metrics and gates", specs=True, overrides=True)
    sh.add_argument("--where", action="append", metavar="EXPR",
                    help="keep rows where COLUMN OP VALUE (OP: = != > < >= <= ~), e.g. "
                    "'exact_match>0.5', 'status=stale'; repeat to combine")
    sh.add_argument("--sort", metavar="COLUMN", help="sort by a column (missing values last)")
    sh.add_argument("--reverse", action="store_true", help="reverse the order")
    sh.add_argument("--columns", metavar="A,B,...", help="the columns to show, in this order")
    sh.add_argument("--no-trials", action="store_true", help="no rows for sweep trials")
    fmt = sh.add_mutually_exclusive_group()
    fmt.add_argument("--csv", action="store_true", help="CSV")
    fmt.add_argument("--md", action="store_true", help="a Markdown table")
    sh.add_argument("--data", action="store_true",
                    help="prepared data sets from their data cards; with KEY or SPEC, one in "
                    "detail (cleaning steps, token lengths, dropped rows)")
    pl = add("plots", results.cmd_plots, "training curves overlaid across specs, metric "
             "comparisons and sweep plots: one offline HTML page and a PNG per chart",
             specs=True)
    pl.add_argument("-o", "--output", metavar="DIR", help="where (default runs/_plots)")
    pl.add_argument("--no-png", action="store_true", help="the HTML page only")
    rp = add("report", results.cmd_report, "one static page for the workspace: results, "
             "gates, charts, lineage per spec, data cards", specs=True)
    rp.add_argument("-o", "--output", metavar="FILE",
                    help="where (default runs/_report/index.html)")
    pn = add("pin", data.cmd_pin, "write the current raw-data hash into each SPEC's data.hash")
    pn.add_argument("specs", nargs="*", metavar="SPEC", help="spec names or files")
    pn.add_argument("--check", action="store_true",
                    help="write nothing; exit 1 if a pin is missing or differs")
    pn.add_argument("--external", metavar="NAME",
                    help="print the hash of repro.yaml's external_data entry NAME")
    add("plan", pipeline.cmd_plan, "preflight without weights: parameters, adapter targets, "
        "memory, tokens per step", specs=True, overrides=True)
    x = add("export", pipeline.cmd_export, "merge a trained adapter into its base; write a "
            "standalone model (default runs/SPEC/merged)", specs=True, overrides=True)
    x.add_argument("-o", "--output", metavar="DIR", help="write the model to DIR")
    s = add("schema", spec.cmd_schema, "print the spec JSON Schema (for editor completion)")
    s.add_argument("-o", "--output", metavar="FILE", help="write to FILE")
    s.add_argument("--markdown", action="store_true", help="the field reference as Markdown")
    lg = add("lineage", results.cmd_lineage, "the ancestry of a result: spec, data, base model, "
             "code, environment, hardware")
    lg.add_argument("result", metavar="RESULT",
                    help="a spec name or file, a run directory, REV:specs/x.yaml or an MLflow "
                    "run id")
    d = add("diff", results.cmd_diff, "every input that differs between two results, next to the "
            "metric deltas; or, given git revisions, every result added, removed or changed "
            "between them (exit 1: same inputs, different outputs)")
    d.add_argument("a", metavar="A", help="a spec name or file, a run directory, "
                   "REV:specs/x.yaml, an MLflow run id; or a git revision")
    d.add_argument("b", metavar="B", nargs="?", help="the same kinds as A (with a revision A: "
                   "another revision; default the workspace)")
    d.add_argument("--expand", action="store_true",
                   help="list every differing field of a base spec (collapsed by default)")
    d.add_argument("--md", action="store_true",
                   help="Markdown, for a pull-request comment (whole revisions)")
    v = add("verify", results.cmd_verify, "rebuild a result in a scratch copy at its recorded "
            "commit; exit 0 only when it comes out the same")
    v.add_argument("result", metavar="SPEC|RESULT", help="a spec name or file, or a run directory")
    v.add_argument("--keep", action="store_true", help="keep the scratch copy")
    u = add("upgrade", spec.cmd_upgrade, "rewrite older spec files to the current spec_version "
            "in place, keeping comments", specs=True)
    u.add_argument("--check", action="store_true",
                   help="write nothing; exit 1 if a file needs upgrading")
    human.add_parsers(add)
    sw = add("search", search.cmd_search, "run (or --join) a sweep spec's Optuna study "
             "outside DVC; many workers share $REPRO_SEARCH_STORAGE", specs=True, overrides=True)
    sw.add_argument("--workers", type=int, metavar="N", help="worker processes on this machine")
    sw.add_argument("--join", action="store_true", help="join the running study as a worker")
    pr = add("promote", search.cmd_promote, "write a sweep's trial (default: the best) as a "
             "concrete spec in specs/", specs=True)
    pr.add_argument("--trial", type=int, metavar="N", help="the trial number (default: best)")
    pr.add_argument("--name", metavar="NAME", help="the new spec's name "
                    "(default: SPEC-trial-N)")
    ex = sub.add_parser("exp", help="DVC experiments whose commits hold the changed spec")
    exsub = ex.add_subparsers(dest="exp_command", metavar="EXP_COMMAND", required=True)
    er = exsub.add_parser("run", help="change SPEC with --set, recompile and 'dvc exp run' "
                          "(--queue: queue it; run the queue with 'dvc exp run --run-all')")
    er.set_defaults(func=pipeline.cmd_exp_run)
    er.add_argument("-C", metavar="DIR", help="run as if started in DIR", default=argparse.SUPPRESS)
    er.add_argument("spec", metavar="SPEC", help="a spec name")
    er.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="change a field of the spec file, e.g. --set train.optimizer.lr=1e-3")
    er.add_argument("--queue", action="store_true", help="queue the experiment, do not run it")
    er.add_argument("-n", "--name", metavar="NAME", help="the experiment's name")
    i = add("init", spec.cmd_init, "create a new workspace (git, DVC, a starter spec)")
    i.add_argument("dir", nargs="?", default=".", metavar="DIR")
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:
        # `repro diff A --json B`: argparse gives an optional second positional nothing
        # when an option comes between the two
        if (getattr(args, "command", None) == "diff" and args.b is None and len(extra) == 1
                and not extra[0].startswith("-")):
            args.b = extra[0]
        else:
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
    try:
        return args.func(args)
    except SpecErrors as e:
        for error in e.errors:
            print(error.format(), file=sys.stderr)
        return EXIT_USAGE
    except ReproError as e:
        err(str(e))
        return e.exit_code
    except KeyboardInterrupt:
        err("interrupted")
        return 130
    except BrokenPipeError:  # `repro lineage x | head`: the reader left; not an error
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
