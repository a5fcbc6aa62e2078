"""`repro validate`'s look at a spec's local data: confined, present, a bounded sample parsed.

The path must lie inside the workspace (or be a named ``external:`` entry with a pinned hash);
then a sample (a few MB, a few thousand rows) is read with the checks the prepare stage runs
on every row (``repro.spec.datafiles``); when the sample is the whole data set, the requested
splits must each get a row. Errors point at the data file's line and column, with the spec
line that names it in the hint.
"""

from __future__ import annotations

from pathlib import Path

from repro.errors import Pos, SpecError


def check_data(root: Path, entry, err) -> None:
    """Check ``entry``'s ``{path}`` data source; ``err(entry, field_path, message, hint,
    value=True)`` reports a problem at a spec field."""
    from repro.contract.paths import EXTERNAL_PREFIX, PathRefused, spec_path
    from repro.spec.datafiles import DataProblem, min_rows, scan_source, split_sizes

    data = entry.spec.data
    src = data.source
    field = ("data", "source", "path")
    try:
        full = spec_path(root, src.path)
    except PathRefused as e:
        err(entry, field, e.message, e.hint, value=True)
        return
    external = src.path.startswith(EXTERNAL_PREFIX)
    if not full.exists():
        err(entry, field, f"data file '{src.path}' not found" + (
            f" (external entry at {full})" if external else ""),
            "paths are relative to the workspace root", value=True)
        return
    at = entry.doc.pos(field, value=True) if entry.doc else None
    named_at = f"named by data.source.path at {at}" if at else "named by data.source.path"
    try:
        scan, has_splits = scan_source(full, src.path.rstrip("/"), src.type, data.format,
                                       data.columns, src.text_unit,
                                       root=None if external else root)
    except DataProblem as p:
        hint = f"{p.hint}; {named_at}" if p.hint else named_at
        entry.errors.append(SpecError(p.message, pos=Pos(p.file, p.line, p.col), hint=hint))
        return
    except OSError as e:
        err(entry, field, f"cannot read '{src.path}': {e.strerror or e}", value=True)
        return
    if not scan.complete or has_splits:
        return
    sp = data.split
    sizes = split_sizes(scan.rows, sp.validation, sp.test)
    empty = [name for name, frac in (("validation", sp.validation), ("test", sp.test))
             if frac and not sizes[name]]
    if not sizes["train"]:
        empty.insert(0, "train")
    if empty:
        need = min_rows(sp.validation, sp.test)
        what = ", ".join(f"{name} {sizes[name]}" for name in sizes)
        err(entry, ("data", "split", empty[-1] if empty[-1] != "train" else "validation"),
            f"'{src.path}' has {scan.rows} row(s), too few for the requested splits "
            f"({what}): {' and '.join(empty)} would be empty",
            f"give it at least {need} rows, or set data.split.{empty[-1]}: 0")
