"""Load and check task files and custom metric paths named by a spec's ``evaluate`` section.

Task files are validated like specs (file:line:col: field: message, with hints); the
evaluate stage of a spec depends on each task file, its data files and its metric modules.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from repro.errors import Pos, SpecError, SpecErrors
from repro.spec.sections.tasks import TaskFile


def inside(root: Path, rel: str) -> Path | None:
    """``root / rel`` if it stays inside the workspace, else None."""
    p = (root / rel).resolve()
    try:
        p.relative_to(root.resolve())
    except ValueError:
        return None
    return p


def load_task(root: Path, rel: str) -> TaskFile:
    """The validated task file ``rel``; raises SpecErrors pointing into the task file."""
    from repro.spec.loader import load_yaml_file
    from repro.spec.validate import validate_as

    path = root / rel
    doc = load_yaml_file(path, root)
    task: TaskFile = validate_as(TaskFile, doc)
    errors = []
    for split, files in task.dataset_kwargs.data_files.items():
        for f in [files] if isinstance(files, str) else files:
            where = inside(root, f)
            if where is None or not where.is_file():
                errors.append(SpecError(
                    f"data file '{f}' " + ("is outside the workspace" if where is None
                                           else "not found"),
                    pos=doc.pos(("dataset_kwargs", "data_files", split), value=True),
                    field=f"dataset_kwargs.data_files.{split}",
                    hint="paths are relative to the workspace root"))
    for field in ("doc_to_text", "doc_to_target", "doc_to_choice"):
        value = getattr(task, field)
        if isinstance(value, str) and "{" in value:
            err = _template_error(value)
            if err:
                errors.append(SpecError(f"bad Jinja template: {err}", pos=doc.pos((field,), True),
                                        field=field))
    if errors:
        raise SpecErrors(errors)
    return task


def _template_error(text: str) -> str | None:
    import jinja2

    try:
        jinja2.Environment().parse(text)
    except jinja2.TemplateSyntaxError as e:
        return e.message
    return None


def data_files(task: TaskFile) -> list[str]:
    """Every data file a task reads, in a fixed order."""
    out: list[str] = []
    for files in task.dataset_kwargs.data_files.values():
        out += [files] if isinstance(files, str) else list(files)
    return sorted(set(out))


def check_evaluate(root: Path, spec: Any, err, names: set[str]) -> None:
    """Cross-file checks of ``spec.evaluate``; ``err(path, message, hint)`` reports one.

    ``names``: the specs in the workspace (a gate's ``against`` must be one of them).
    """
    ev = spec.evaluate
    tasks: dict[str, int] = {}
    for i, t in enumerate(ev.tasks):
        where = inside(root, t.path)
        if where is None:
            err(("evaluate", "tasks", i, "path"), f"'{t.path}' is outside the workspace",
                "paths are relative to the workspace root")
            continue
        if not where.is_file():
            err(("evaluate", "tasks", i, "path"), f"task file '{t.path}' not found",
                "paths are relative to the workspace root")
            continue
        try:
            task = load_task(root, t.path)
        except (SpecErrors, SpecError) as e:
            for one in getattr(e, "errors", [e]):
                err(("evaluate", "tasks", i, "path"), f"bad task file: {one.format()}",
                    None)
            continue
        if task.task in tasks:
            err(("evaluate", "tasks", i, "path"), f"two tasks are named '{task.task}'", None)
        tasks[task.task] = i
    for i, c in enumerate(ev.custom):
        where = inside(root, c.path)
        if where is None or not where.exists():
            err(("evaluate", "custom", i, "path"),
                f"metric module '{c.path}' " + ("is outside the workspace" if where is None
                                                 else "not found"),
                "a .py file or a folder holding <folder name>.py, relative to the workspace root")
    if ev.harness == "lm-eval" and not ev.tasks:
        err(("evaluate", "harness"), "harness: lm-eval runs task files, and there are none",
            "add evaluate.tasks, or remove harness")
    for i, g in enumerate(ev.gates):
        _check_gate(spec, g, i, tasks, names, err)


def produced(spec: Any) -> set[str]:
    """The top-level metric keys an evaluate stage writes."""
    from repro.spec.sections.evaluate import metric_keys

    ev = spec.evaluate
    keys = {k for m in ev.metrics for k in metric_keys(m)} | {c.key for c in ev.custom}
    return keys | {"n_examples"}


def _check_gate(spec, g, i: int, tasks: dict[str, int], names: set[str], err) -> None:
    from repro.spec.validate import suggest

    parts = g.metric.split(".")
    if parts[0] == "base":
        if not spec.evaluate.compare_base:
            err(("evaluate", "gates", i, "metric"), "base.* metrics need compare_base: true", None)
        parts = parts[1:]
    if parts and parts[0] == "tasks":
        ok = len(parts) >= 3 and parts[1] in tasks
        choices = [f"tasks.{t}.<metric>" for t in tasks]
    else:
        ok = len(parts) == 1 and parts[0] in produced(spec)
        choices = sorted(produced(spec))
    if not ok:
        guess = suggest(g.metric, choices)
        err(("evaluate", "gates", i, "metric"),
            f"'{g.metric}' is not a metric this spec writes",
            f"did you mean '{guess}'?" if guess else "one of: " + ", ".join(choices))
    if g.against is not None and g.against not in names:
        guess = suggest(g.against, sorted(names))
        err(("evaluate", "gates", i, "against"), f"no spec named '{g.against}'",
            f"did you mean '{guess}'?" if guess else "a spec under specs/")
    if g.ci_disjoint and spec.evaluate.bootstrap.iters == 0:
        err(("evaluate", "gates", i, "ci_disjoint"), "ci_disjoint needs bootstrap intervals",
            "set evaluate.bootstrap.iters > 0")


__all__ = ["Pos", "check_evaluate", "data_files", "inside", "load_task", "produced"]
