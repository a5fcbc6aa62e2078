"""The ``repro`` command line: verbs over the load -> validate -> check -> compile -> run path.

Exit codes: 0 success, 1 a run failed (or ``compile --check`` found stale files),
2 a user error (a bad spec, a bad argument). User errors never print a traceback.
This module imports nothing heavy: ``repro validate`` answers in a fraction of a second.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from repro import __version__
from repro.errors import ReproError, SpecErrors
from repro.ui import err, style, table

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


# ----------------------------------------------------------------------------- helpers


def _root(args: argparse.Namespace) -> Path:
    from repro.spec.workspace import find_root

    try:
        return find_root(Path(args.C) if args.C else None)
    except ReproError:
        # `repro validate some/file.yaml` works outside a workspace too
        files = [s for s in getattr(args, "specs", None) or [] if s.endswith((".yaml", ".yml"))]
        if files and len(files) == len(args.specs) and args.func is cmd_validate:
            return Path(args.C or ".").resolve()
        raise


def _load(args: argparse.Namespace, root: Path):
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
    entries = load_workspace(root, getattr(args, "set", None) or (), extra)
    if not entries:
        raise ReproError(
            f"no specs in {root / 'specs'}: add a YAML spec there (see README), "
            "or start from 'repro init'"
        )
    return entries, select(entries, root, wanted)


def _print_spec_errors(entries) -> int:
    n = 0
    for e in entries:
        for error in e.errors:
            n += 1
            print(error.format(), file=sys.stderr)
    return n


def _require_valid(entries, selected) -> None:
    bad = [e for e in entries if e.errors]
    if bad:
        n = _print_spec_errors(bad)
        names = ", ".join(e.name for e in bad)
        raise ReproError(f"{n} error(s) in {len(bad)} spec(s) ({names}); nothing was changed")


def _compile(root: Path, entries, check: bool = False) -> Any:
    from repro.contract.fsio import write_text_atomic
    from repro.contract.paths import DVC_FILE, PARAMS_FILE
    from repro.pipeline.compiler import compile_workspace, stale_files

    compiled = compile_workspace(root, entries)
    if check:
        return compiled, stale_files(root, compiled)
    from repro.contract import envlock
    from repro.contract.paths import ENV_LOCK

    written = []
    if write_text_atomic(root / ENV_LOCK, envlock.render(), only_if_changed=True):
        written.append(ENV_LOCK)
    if write_text_atomic(root / PARAMS_FILE, compiled.params_yaml, only_if_changed=True):
        written.append(PARAMS_FILE)
    if write_text_atomic(root / DVC_FILE, compiled.dvc_yaml, only_if_changed=True):
        written.append(DVC_FILE)
    return compiled, written


# ----------------------------------------------------------------------------- verbs


def cmd_validate(args: argparse.Namespace) -> int:
    t0 = time.perf_counter()
    root = _root(args)
    entries, selected = _load(args, root)
    n_errors = sum(len(e.errors) for e in selected)
    if args.json:
        print(json.dumps([
            {"spec": e.name, "file": e.file, "ok": not e.errors,
             "errors": [x.as_dict() for x in e.errors]} for e in selected
        ], indent=2))
    else:
        _print_spec_errors(selected)
        if not n_errors:
            ms = (time.perf_counter() - t0) * 1000
            names = ", ".join(e.name for e in selected)
            print(f"{style('ok', 'green')}: {len(selected)} spec(s) valid ({names}) in {ms:.0f} ms")
        else:
            bad = sum(1 for e in selected if e.errors)
            print(f"{n_errors} error(s) in {bad} spec(s)", file=sys.stderr)
    return EXIT_USAGE if n_errors else EXIT_OK


def cmd_compile(args: argparse.Namespace) -> int:
    root = _root(args)
    entries, _ = _load(args, root)
    _require_valid(entries, entries)
    compiled, files = _compile(root, entries, check=args.check)
    n = len(compiled.graph.stages)
    if args.check:
        if files:
            print(f"stale: {', '.join(files)} do not match specs/ (run 'repro compile')",
                  file=sys.stderr)
            return EXIT_FAILED
        print(f"{style('ok', 'green')}: dvc.yaml and params.yaml match specs/ ({n} stages)")
        return EXIT_OK
    if files:
        print(f"wrote {' and '.join(files)} ({n} stages from {len(entries)} specs)")
    else:
        print(f"dvc.yaml and params.yaml already up to date ({n} stages)")
    return EXIT_OK


def _status_for(spec: str, graph, result) -> str:
    stages = graph.spec_stages(spec)
    failed = [s.kind for s in stages if s.name in result.failed]
    ran = [s.kind for s in stages if s.name in result.ran]
    if failed:
        return style("FAILED " + ", ".join(failed), "red")
    upstream_failed = sorted(graph.upstream(spec) & set(result.failed))
    if upstream_failed:
        return style(f"skipped ({upstream_failed[0]} failed)", "red")
    if ran:
        return style("ran " + ", ".join(ran), "yellow")
    if result.error and not result.ran:
        return "not run"
    return style("up to date", "green")


def _check_pins(root: Path, entries, selected, as_json: bool) -> None:
    """Stop before DVC starts if a pinned local data source changed."""
    from repro.data.pin import check_pins, with_upstream

    bad = check_pins(root, with_upstream(entries, selected))
    if not bad:
        return
    if as_json:
        print(json.dumps({"error": "pinned data changed",
                          "pins": [m.as_dict() for m in bad]}, indent=2))
    for m in bad:
        print(m.format(), file=sys.stderr)
    raise ReproError(f"pinned data changed for {len(bad)} spec(s) "
                     f"({', '.join(m.spec for m in bad)}); no stage was run")


def cmd_run(args: argparse.Namespace) -> int:
    from repro.pipeline.run import reproduce, require_dvc
    from repro.results.show import HEADERS, metric_cells, spec_result

    t0 = time.perf_counter()
    root = _root(args)
    require_dvc(root)
    entries, selected = _load(args, root)
    _require_valid(entries, selected)
    _check_pins(root, entries, selected, args.json)
    compiled, written = _compile(root, entries)
    if written:
        note = f"compiled {', '.join(written)}"
        print(note, file=sys.stderr) if args.json else print(style(note, "dim"))
    graph = compiled.graph
    targets = [f"evaluate-{e.name}" for e in selected] if args.specs else None
    if args.json:
        from repro.pipeline.run import stdout_to_stderr

        with stdout_to_stderr():
            result = reproduce(root, targets, force=args.force)
    else:
        result = reproduce(root, targets, force=args.force)
    secs = time.perf_counter() - t0

    rows = []
    for e in selected:
        r = spec_result(root, e)
        rows.append([e.name, _status_for(e.name, graph, result), *metric_cells(r["metrics"])])
    if args.json:
        print(json.dumps({
            "ran": result.ran, "failed": result.failed, "error": result.error,
            "seconds": round(secs, 3),
            "specs": [spec_result(root, e) for e in selected],
        }, indent=2))
    else:
        print()
        print(table(["spec", "stages", *HEADERS], rows, right={2, 3, 4}))
        if not result.ran and result.ok:
            print(f"\nNothing to do: every stage is up to date ({secs:.1f} s).")
        else:
            print(f"\n{len(result.ran)} stage(s) ran in {secs:.1f} s.")
            if result.ran and result.ok:
                print("Outputs are in runs/ (tracked by DVC); commit dvc.lock to record them.")
    if result.error:
        err(result.error)
        return EXIT_FAILED
    return EXIT_OK


def cmd_show(args: argparse.Namespace) -> int:
    from repro.results.show import HEADERS, metric_cells, spec_result

    root = _root(args)
    if args.data:
        return _show_data(args, root)
    entries, selected = _load(args, root)
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


def _spec_keys(root: Path, entries) -> dict[str, str]:
    """spec name -> prepared data key, for the specs that are valid."""
    from repro.pipeline.compiler import build_graph

    ok = [e for e in entries if e.ok]
    return build_graph(root, ok).spec_data if ok else {}


def _show_data(args: argparse.Namespace, root: Path) -> int:
    from repro.data.cards import detail, overview, prepared_keys, read_card
    from repro.spec.workspace import load_workspace

    if len(args.specs) > 1:
        raise ReproError("show --data takes at most one data set key or spec")
    try:
        entries = load_workspace(root)
    except ReproError:
        entries = []
    spec_keys = _spec_keys(root, entries)
    if not args.specs:
        text, rows = overview(root, spec_keys)
        if args.json:
            print(json.dumps(rows, indent=2))
        elif not rows:
            print("no data sets: no valid spec and nothing prepared under runs/_data/")
        else:
            print(text)
        return EXIT_OK
    want = args.specs[0]
    known = set(prepared_keys(root)) | set(spec_keys.values())
    if want in known:
        key = want
    else:
        from repro.spec.workspace import select

        try:
            entry = select(entries, root, [want])[0]
        except ReproError:
            from repro.spec.validate import suggest

            guess = suggest(want, sorted(known | set(spec_keys)))
            hint = f" (did you mean '{guess}'?)" if guess else ""
            raise ReproError(f"no data set or spec named '{want}'{hint}; "
                             "'repro show --data' lists them") from None
        if entry.name not in spec_keys:
            raise ReproError(f"spec '{entry.name}' has errors; run 'repro validate {want}'")
        key = spec_keys[entry.name]
    specs = sorted(s for s, k in spec_keys.items() if k == key)
    card = read_card(root, key)
    if args.json:
        print(json.dumps({"key": key, "specs": specs, "prepared": card is not None,
                          "card": card.to_dict() if card is not None else None}, indent=2))
        return EXIT_OK
    if card is None:
        run = f"repro run {specs[0]}" if specs else "repro"
        print(f"data set {key} is not prepared yet (used by {', '.join(specs) or 'no spec'}); "
              f"'{run}' prepares it")
        return EXIT_OK
    print(detail(key, card, specs))
    return EXIT_OK


def cmd_pin(args: argparse.Namespace) -> int:
    from repro.data.pin import pin_entry
    from repro.data.rawhash import DigestCache

    root = _root(args)
    if not args.specs:
        raise ReproError("name the spec(s) to pin, e.g. 'repro pin specs/my-spec.yaml'")
    entries, selected = _load(args, root)
    cache = DigestCache(root)
    results = []
    try:
        for e in selected:
            results.append(pin_entry(root, e, check=args.check, cache=cache))
    finally:
        cache.save()
    if args.json:
        print(json.dumps([r.as_dict() for r in results], indent=2))
    else:
        for r in results:
            if args.check:
                if r.status == "ok":
                    print(f"{style('ok', 'green')}: {r.file}: data.hash matches {r.source} "
                          f"({r.hash})")
                else:
                    print(f"{r.file}: data.hash "
                          f"{'is not set' if r.previous is None else 'differs'}:\n"
                          f"  pinned  {r.previous or '-'}\n  actual  {r.hash}   ({r.source})\n"
                          f"  'repro pin {r.file}' writes the actual hash", file=sys.stderr)
            elif r.status == "unchanged":
                print(f"{r.file}: data.hash already {r.hash} ({r.source}); nothing written")
            else:
                print(f"{r.file}: {r.status} data.hash: {r.hash} ({r.source})")
                if r.previous:
                    print(f"  was {r.previous}")
                if r.note:
                    print(f"  {r.note}")
    if args.check and any(r.status != "ok" for r in results):
        return EXIT_FAILED
    return EXIT_OK


def cmd_plan(args: argparse.Namespace) -> int:
    from repro.pipeline.plan import human_bytes, plan

    root = _root(args)
    entries, selected = _load(args, root)
    _require_valid(entries, selected)
    plans = plan(root, entries, selected)
    if args.json:
        print(json.dumps([p.as_dict() for p in plans], indent=2))
        return EXIT_OK
    for i, p in enumerate(plans):
        if i:
            print()
        share = f"{100 * p.trainable / p.parameters:.2f}%" if p.parameters else "-"
        mem = p.memory
        rows = [
            ["method", p.method],
            ["base", f"{p.base}, {p.arch}"],
            ["parameters", f"{p.parameters:,}"],
            ["trainable", f"{p.trainable:,} ({share})"],
        ]
        if p.adapter:
            a = p.adapter
            rows.append(["adapter", f"{a['kind']} r={a['r']} on {a['modules']} modules"
                         + (f", {a['modules_to_save']} saved in full" if a["modules_to_save"]
                            else "")])
        rows += [
            ["weights", human_bytes(mem["weights"])],
            ["gradients", human_bytes(mem["gradients"])],
            ["optimizer state", human_bytes(mem["optimizer"])],
            ["memory (est.)", human_bytes(mem["total"])],
            ["tokens per step", f"{p.tokens_per_step:,} ({p.tokens_per_step_formula})"],
        ]
        print(table(["plan", p.spec], rows, right=set()))
        for note in p.notes:
            print(style(f"note: {note}", "dim"))
    return EXIT_OK


def cmd_export(args: argparse.Namespace) -> int:
    from repro.pipeline.compiler import build_graph
    from runners.errors import RunnerError
    from runners.export import export

    root = _root(args)
    entries, selected = _load(args, root)
    _require_valid(entries, entries)
    if len(selected) != 1:
        raise ReproError("export takes exactly one spec")
    name = selected[0].name
    spec = build_graph(root, entries).specs[name]
    try:
        info = export(spec, name, root, Path(args.output) if args.output else None)
    except RunnerError as e:
        err(str(e))
        return EXIT_FAILED
    if args.json:
        print(json.dumps(info, indent=2))
    else:
        what = "merged its adapter into the base" if info["merged"] else "copied its full model"
        print(f"exported {name}: {what} -> {info['out']}")
    return EXIT_OK


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
    else:
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


def _upgrade_files(root: Path, wanted: list[str]) -> list[Path]:
    """Every YAML file under specs/ (bases too), or the named specs and their extends chains."""
    from repro.spec.loader import load_spec_file
    from repro.spec.workspace import spec_files

    base = root / "specs"
    if not wanted:
        return sorted(p for p in base.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file()
                      and not any(part.startswith(".") for part in p.relative_to(base).parts))
    by_name = {p.stem: p for p in spec_files(root)}
    out: list[Path] = []
    for w in wanted:
        path = Path(w) if Path(w).suffix in (".yaml", ".yml") else by_name.get(w)
        if path is None or not path.is_file():
            raise ReproError(f"no spec named '{w}'; specs live in specs/*.yaml")
        doc = load_spec_file(path, root)
        for src in doc.sources:
            p = (root / src).resolve()
            if p not in out:
                out.append(p)
    return out


def cmd_upgrade(args: argparse.Namespace) -> int:
    from repro.spec.migrate import upgrade_file, upgrade_text
    from repro.spec.schema import SPEC_VERSION
    from repro.spec.workspace import rel

    root = _root(args)
    files = _upgrade_files(root, list(args.specs))
    report = []
    for path in files:
        if args.check:
            _, changes = upgrade_text(path.read_text(encoding="utf-8"))
        else:
            changes = upgrade_file(path)
        report.append({"file": rel(root, path), "changes": changes})
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
    p.set_defaults(func=cmd_run, specs=[], set=[], force=False)
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

    add("validate", cmd_validate, "check specs; print file:line:col: field: problem",
        specs=True, overrides=True)
    c = add("compile", cmd_compile, "write dvc.yaml and params.yaml from specs/", overrides=True)
    c.add_argument("--check", action="store_true",
                   help="write nothing; exit 1 if the committed files are stale")
    r = add("run", cmd_run, "compile, then run the stale stages of SPECs (default: all)",
            specs=True, overrides=True)
    r.add_argument("--force", action="store_true", help="re-run stages even if up to date")
    sh = add("show", cmd_show, "list specs with their method, base and latest metrics",
             specs=True)
    sh.add_argument("--data", action="store_true",
                    help="prepared data sets from their data cards; with KEY or SPEC, one in "
                    "detail (cleaning steps, token lengths, dropped rows)")
    pn = add("pin", cmd_pin, "write the current raw-data hash into each SPEC's data.hash")
    pn.add_argument("specs", nargs="*", metavar="SPEC", help="spec names or files")
    pn.add_argument("--check", action="store_true",
                    help="write nothing; exit 1 if a pin is missing or differs")
    add("plan", cmd_plan, "preflight without weights: parameters, adapter targets, memory, "
        "tokens per step", specs=True, overrides=True)
    x = add("export", cmd_export, "merge a trained adapter into its base; write a standalone "
            "model (default runs/SPEC/merged)", specs=True, overrides=True)
    x.add_argument("-o", "--output", metavar="DIR", help="write the model to DIR")
    s = add("schema", cmd_schema, "print the spec JSON Schema (for editor completion)")
    s.add_argument("-o", "--output", metavar="FILE", help="write to FILE")
    s.add_argument("--markdown", action="store_true", help="the field reference as Markdown")
    lg = add("lineage", cmd_lineage, "the ancestry of a result: spec, data, base model, code, "
             "environment, hardware")
    lg.add_argument("result", metavar="RESULT",
                    help="a spec name or file, a run directory, REV:specs/x.yaml or an MLflow run id")
    d = add("diff", cmd_diff, "every input that differs between two results, next to the "
            "metric deltas (exit 1: same inputs, different outputs)")
    d.add_argument("a", metavar="A", help="a spec name or file, a run directory, "
                   "REV:specs/x.yaml or an MLflow run id")
    d.add_argument("b", metavar="B", help="the same kinds as A")
    v = add("verify", cmd_verify, "rebuild a result in a scratch copy at its recorded commit; "
            "exit 0 only when it comes out the same")
    v.add_argument("result", metavar="SPEC|RESULT", help="a spec name or file, or a run directory")
    v.add_argument("--keep", action="store_true", help="keep the scratch copy")
    u = add("upgrade", cmd_upgrade, "rewrite older spec files to the current spec_version "
            "in place, keeping comments", specs=True)
    u.add_argument("--check", action="store_true",
                   help="write nothing; exit 1 if a file needs upgrading")
    i = add("init", cmd_init, "create a new workspace (git, DVC, a starter spec)")
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
