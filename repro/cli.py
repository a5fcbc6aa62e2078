"""The ``repro`` command line, wiring only: parse, call the verb (``repro/commands/``), map errors.

Exit codes: 0 success, 1 a run failed (or ``compile --check`` found stale files),
2 a user error (a bad spec, a bad argument). User errors never print a traceback.
This module imports nothing heavy: ``repro validate`` answers in a fraction of a second.
"""

from __future__ import annotations

import argparse
import sys

from repro import __version__
from repro.commands import EXIT_OK, EXIT_USAGE, data, pipeline, results, spec
from repro.errors import ReproError, SpecErrors
from repro.ui import err

# ----------------------------------------------------------------------------- parser


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="repro",
        description="Versioned experiment specs in, reproducible results out. With no command: "
        "compile specs/ to dvc.yaml, run every stale stage, print a summary.",
    )
    p.add_argument("--version", action="version", version=f"repro {__version__}")
    p.add_argument("-C", metavar="DIR", help="run as if started in DIR")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=pipeline.cmd_run, specs=[], set=[], force=False)
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    def add(name: str, func, help: str, specs: bool = False, overrides: bool = False):
        sp = sub.add_parser(name, help=help, description=help)
        sp.set_defaults(func=func)
        sp.add_argument("-C", metavar="DIR", help="run as if started in DIR",
                        default=argparse.SUPPRESS)
        sp.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                        help="machine-readable output")
        if specs:
            sp.add_argument("specs", nargs="*", metavar="SPEC",
                            help="spec names or files (default: all in specs/)")
        if overrides:
            sp.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                            help="override a field, e.g. --set train.optimizer.lr=1e-3")
        return sp

    add("validate", spec.cmd_validate, "check specs; print file:line:col: field: problem",
        specs=True, overrides=True)
    c = add("compile", pipeline.cmd_compile, "write dvc.yaml and params.yaml from specs/",
            overrides=True)
    c.add_argument("--check", action="store_true",
                   help="write nothing; exit 1 if the committed files are stale")
    r = add("run", pipeline.cmd_run, "compile, then run the stale stages of SPECs (default: all)",
            specs=True, overrides=True)
    r.add_argument("--force", action="store_true", help="re-run stages even if up to date")
    sh = add("show", results.cmd_show, "list specs with their method, base and latest metrics",
             specs=True)
    sh.add_argument("--data", action="store_true",
                    help="prepared data sets from their data cards; with KEY or SPEC, one in "
                    "detail (cleaning steps, token lengths, dropped rows)")
    pn = add("pin", data.cmd_pin, "write the current raw-data hash into each SPEC's data.hash")
    pn.add_argument("specs", nargs="*", metavar="SPEC", help="spec names or files")
    pn.add_argument("--check", action="store_true",
                    help="write nothing; exit 1 if a pin is missing or differs")
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
            "metric deltas (exit 1: same inputs, different outputs)")
    d.add_argument("a", metavar="A", help="a spec name or file, a run directory, "
                   "REV:specs/x.yaml or an MLflow run id")
    d.add_argument("b", metavar="B", help="the same kinds as A")
    v = add("verify", results.cmd_verify, "rebuild a result in a scratch copy at its recorded "
            "commit; exit 0 only when it comes out the same")
    v.add_argument("result", metavar="SPEC|RESULT", help="a spec name or file, or a run directory")
    v.add_argument("--keep", action="store_true", help="keep the scratch copy")
    u = add("upgrade", spec.cmd_upgrade, "rewrite older spec files to the current spec_version "
            "in place, keeping comments", specs=True)
    u.add_argument("--check", action="store_true",
                   help="write nothing; exit 1 if a file needs upgrading")
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
    args = parser.parse_args(argv)
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
