"""Verbs that compile and run the pipeline: ``compile``, ``run``, ``plan``, ``export``."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from repro.commands import EXIT_FAILED, EXIT_OK, load_specs, require_valid, workspace_root, writes
from repro.errors import ReproError
from repro.ui import err, style, table


@writes("compile")
def cmd_compile(args: argparse.Namespace) -> int:
    from repro.pipeline.compiler import compile_workspace, stale_files, write_compiled

    root = workspace_root(args)
    entries, _ = load_specs(args, root)
    require_valid(entries)
    compiled = compile_workspace(root, entries)
    n = len(compiled.graph.stages)
    if args.check:
        stale = stale_files(root, compiled)
        if stale:
            print(f"stale: {', '.join(stale)} do not match specs/ (run 'repro compile')",
                  file=sys.stderr)
            return EXIT_FAILED
        print(f"{style('ok', 'green')}: dvc.yaml and params.yaml match specs/ ({n} stages)")
        return EXIT_OK
    written = write_compiled(root, compiled)
    if written:
        print(f"wrote {' and '.join(written)} ({n} stages from {len(entries)} specs)")
    else:
        print(f"dvc.yaml and params.yaml already up to date ({n} stages)")
    return EXIT_OK


@writes("run")
def cmd_run(args: argparse.Namespace) -> int:
    from repro.data.pin import PinsChanged
    from repro.pipeline.progress import reporter
    from repro.pipeline.run import require_dvc, run_specs, status_for
    from repro.results.show import HEADERS, metric_cells, spec_result

    t0 = time.perf_counter()
    root = workspace_root(args)
    require_dvc(root)
    entries, selected = load_specs(args, root)
    require_valid(entries)

    def compiled(written: list[str]) -> None:
        note = f"compiled {', '.join(written)}"
        print(note, file=sys.stderr) if args.json else print(style(note, "dim"))

    targets = [t for e in selected for t in _spec_targets(root, e)] if args.specs else None
    try:
        with reporter(json=args.json) as progress:
            graph, result = run_specs(root, entries, selected, targets=targets,
                                      force=args.force, quiet=args.json, on_written=compiled,
                                      progress=progress)
    except PinsChanged as e:
        if args.json:
            print(json.dumps({"error": "pinned data changed",
                              "pins": [m.as_dict() for m in e.mismatches]}, indent=2))
        for m in e.mismatches:
            print(m.format(), file=sys.stderr)
        raise
    secs = time.perf_counter() - t0
    from repro.results.staleness import record_run

    record_run(root, result.ran, result.failed)

    if args.json:
        print(json.dumps({
            "ran": result.ran, "failed": result.failed, "error": result.error,
            "seconds": round(secs, 3),
            "specs": [spec_result(root, e) for e in selected],
        }, indent=2))
    else:
        rows = []
        for e in selected:
            text, colour = status_for(e.name, graph, result, root)
            status = style(text, colour) if colour else text
            rows.append([e.name, status, *metric_cells(spec_result(root, e)["metrics"])])
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


def cmd_plan(args: argparse.Namespace) -> int:
    from repro.pipeline.plan import human_bytes, plan

    root = workspace_root(args)
    entries, selected = load_specs(args, root)
    require_valid(entries)
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
            *([[label, human_bytes(mem[key])] for key, label in FROZEN if key in mem]),
            ["memory (est.)", human_bytes(mem["total"])],
            ["tokens per step", f"{p.tokens_per_step:,} ({p.tokens_per_step_formula})"],
        ]
        print(table(["plan", p.spec], rows, right=set()))
        for note in p.notes:
            print(style(f"note: {note}", "dim"))
    return EXIT_OK


FROZEN = (("reference", "reference model"), ("teacher", "teacher model"))


def _spec_targets(root: Path, entry) -> list[str]:
    """The last stages of a spec: evaluate, and human-eval once its sheet has judgments."""
    from repro.pipeline.graph import human_stage

    human = human_stage(root, entry.name, entry.spec)
    return [f"evaluate-{entry.name}", *([human.name] if human is not None else [])]


@writes("export")
def cmd_export(args: argparse.Namespace) -> int:
    from repro.pipeline.run import export_model

    root = workspace_root(args)
    entries, selected = load_specs(args, root)
    require_valid(entries)
    if len(selected) != 1:
        raise ReproError("export takes exactly one spec")
    name = selected[0].name
    info = export_model(root, entries, name, args.output)
    if args.json:
        print(json.dumps(info, indent=2))
    else:
        what = "merged its adapter into the base" if info["merged"] else "copied its full model"
        print(f"exported {name}: {what} -> {info['out']}")
    return EXIT_OK



def cmd_exp_run(args: argparse.Namespace) -> int:
    from repro.pipeline.experiments import exp_run
    from repro.pipeline.run import _python_on_path, require_dvc

    root = workspace_root(args)
    require_dvc(root)
    _python_on_path()
    rc = exp_run(root, args.spec, args.set, queue=args.queue, name=args.name)
    return EXIT_OK if rc == 0 else EXIT_FAILED
