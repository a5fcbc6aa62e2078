"""Loading a data set's raw rows from its ``source``: a built-in generator, local files, a hub id.

Local files and hub snapshots are read with the ``datasets`` library (JSON lines, JSON, CSV,
Parquet, plain text one row per line or per file). A folder whose files are named after
splits (``train*``, ``validation*``/``valid*``/``val*``/``dev*``, ``test*``) keeps those splits.

Rows come back in the columns of their format, renamed by the spec's ``columns`` mapping
(format column -> source column):

- text ``{"text"}``; instruction ``{"instruction", "input", "output"}``;
- chat ``{"messages": [{"role", "content"}, ...]}``; preference ``{"prompt", "chosen", "rejected"}``;
  feedback ``{"prompt", "completion", "label"}`` (label: a boolean, see ``repro.spec.datafiles.feedback_label``).

A column missing from the data, or a value of the wrong type, is an error naming the file,
the row (the line, for JSON lines) and the column. An empty value or a malformed chat turn
makes the row *invalid*: cleaning drops it, counts it and keeps a sample.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from repro.contract.fsio import canonical_json
from repro.contract.hashing import FileEntry, data_files, hash_bytes, hash_path
from repro.contract.paths import EXTERNAL_PREFIX, WORKSPACE_CONFIG, PathRefused, external_entry
from repro.contract.sources import SourceUnavailable, hub_folder, local_path, source_label
from repro.spec.datafiles import (
    EXTENSIONS,
    INVALID,
    DataProblem,
    RowError,
    convert_row,
    file_type,
    scan_file,
    split_of,
)
from runners.data import builtin
from runners.errors import RunnerError


@dataclass
class RawData:
    """Rows per split as found in the source (one ``"all"`` split when it has none)."""

    splits: dict[str, list[dict[str, Any]]]
    raw_hash: str  # blake3:<hex> of the raw bytes (files) or of the generated rows
    origin: str  # a short label for messages and the card
    kind: str  # builtin | path | hub
    files: list[FileEntry] = field(default_factory=list)
    invalid: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # split -> rows

    @property
    def n_rows(self) -> int:
        return sum(len(r) for r in self.splits.values()) + sum(
            len(r) for r in self.invalid.values()
        )


def builtin_hash(name: str, size: int, seed: int) -> str:
    """The raw hash of a built-in data set: BLAKE3 of its rows as canonical JSON lines."""
    return _jsonl_hash(builtin.generate(name, size, seed))


def _jsonl_hash(rows: list[dict[str, Any]]) -> str:
    return hash_bytes("".join(canonical_json(r) + "\n" for r in rows).encode("utf-8"))


def load_source(
    source: dict[str, Any], fmt: str, columns: dict[str, str], seed: int, root: Path,
    keep: tuple[str, ...] = (),
) -> RawData:
    """Rows of ``source`` in format ``fmt``; local paths are relative to ``root``.

    ``keep`` names extra source columns to carry along (for grouped or stratified splits).
    """
    if "builtin" in source:
        return _load_builtin(source, fmt, seed)
    if "path" in source:
        rel = source["path"]
        try:
            full = local_path(root, rel)
        except PathRefused as e:
            raise RunnerError(f"data.source.path: {e.message} ({e.hint})") from None
        if not full.exists():
            raise RunnerError(f"{rel}: data file or folder not found")
        external = rel.startswith(EXTERNAL_PREFIX)
        if full.is_dir() and not external:
            top = Path(root).resolve()
            for f in data_files(full):
                if not f.resolve().is_relative_to(top):
                    raise RunnerError(f"{rel}/{f.relative_to(full).as_posix()}: is outside the "
                                      f"workspace (a symlink leads to {f.resolve()})")
        raw = _load_files(full, rel, source, fmt, columns, keep, "path", source_label(source))
        if external:
            pinned = external_entry(root, rel[len(EXTERNAL_PREFIX):])["hash"]
            if raw.raw_hash != pinned:
                raise RunnerError(
                    f"{rel}: the external data changed since it was pinned in "
                    f"{WORKSPACE_CONFIG} (pinned {pinned}, now {raw.raw_hash}); check the data, "
                    "then update the hash there")
        return raw
    if "hub" in source:
        try:
            folder = hub_folder(source, local_only=False)
        except SourceUnavailable as e:
            raise RunnerError(
                f"hub data set {source['hub']}@{source.get('revision') or 'main'}: not available "
                f"({e}); without network it must be in the local Hugging Face cache"
            ) from None
        return _load_files(
            folder, source["hub"], {"type": "auto"}, fmt, columns, keep, "hub", source_label(source)
        )
    raise RunnerError(f"data source: expected one of builtin, path, hub (got {source!r})")


# ----------------------------------------------------------------------------- builtin


def _load_builtin(source: dict[str, Any], fmt: str, seed: int) -> RawData:
    name = source["builtin"]
    if name not in builtin.GENERATORS:
        known = ", ".join(sorted(builtin.GENERATORS))
        raise RunnerError(f"data source: unknown builtin {name!r} (known: {known})")
    if builtin.builtin_format(name) != fmt:
        raise RunnerError(
            f"data source: builtin {name!r} gives {builtin.builtin_format(name)} data, "
            f"but the format is {fmt!r}"
        )
    rows = builtin.generate(name, int(source["size"]), seed)
    return RawData({"all": rows}, _jsonl_hash(rows), f"builtin:{name}", "builtin")


# ----------------------------------------------------------------------------- files


def _file_type(path: Path, declared: str) -> str:
    try:
        return file_type(path, declared, path.name)
    except DataProblem as e:
        raise RunnerError(str(e)) from None


def _split_of(rel: Path) -> str | None:
    return split_of(rel)


def _load_files(
    full: Path, rel: str, source: dict[str, Any], fmt: str, columns: dict[str, str],
    keep: tuple[str, ...], kind: str, origin: str,
) -> RawData:
    raw_hash, entries = hash_path(full)
    files = data_files(full)
    if full.is_dir() and source.get("type", "auto") == "auto":
        # a folder (or hub snapshot) may hold a README or licence: only data files count
        files = [f for f in files if f.suffix.lower() in EXTENSIONS]
    if not files:
        raise RunnerError(f"{rel}: no data files found")
    types = {_file_type(f, source.get("type", "auto")) for f in files}
    if len(types) > 1:
        raise RunnerError(f"{rel}: mixed file types ({', '.join(sorted(types))}); use one type")
    ftype = types.pop()
    by_split: dict[str, list[Path]] = {}
    if full.is_dir():
        named = {f: _split_of(f.relative_to(full)) for f in files}
        if any(named.values()):
            unnamed = [f.relative_to(full).as_posix() for f, s in named.items() if s is None]
            if unnamed:
                raise RunnerError(
                    f"{rel}: some files are named after splits and some are not "
                    f"({', '.join(unnamed[:3])}); name every file train/validation/test, or none"
                )
            for f, s in named.items():
                by_split.setdefault(s, []).append(f)
        else:
            by_split["all"] = files
    else:
        by_split["all"] = files
    if "train" not in by_split and "all" not in by_split:
        raise RunnerError(f"{rel}: split files found but none for train")

    splits: dict[str, list[dict[str, Any]]] = {}
    invalid: dict[str, list[dict[str, Any]]] = {}
    for split, paths in by_split.items():
        splits[split], invalid[split] = [], []
        for path in paths:
            shown = rel if path == full else f"{rel}/{path.relative_to(full).as_posix()}"
            records, where = read_records(path, ftype, shown, source.get("text_unit", "line"),
                                          fmt, columns)
            for i, rec in enumerate(records):
                row = to_row(rec, fmt, columns, lambda i=i, s=shown, w=where: f"{s}:{w(i)}", keep)
                if row is INVALID:
                    invalid[split].append(rec)
                else:
                    splits[split].append(row)
    return RawData(splits, raw_hash, origin, kind, entries, invalid)


def read_records(path: Path, ftype: str, shown: str, text_unit: str = "line",
                 fmt: str = "text", columns: dict[str, str] | None = None):
    """The records of one file, read with ``datasets``, and a function giving the place of
    record ``i`` for messages: ``line N`` for JSON lines and text, ``row N`` otherwise.

    Every row is first scanned by the checks `repro validate` runs on a sample
    (``repro.spec.datafiles``), so a problem gets the same message, with its line and column,
    whichever finds it."""
    import datasets

    try:
        scan_file(path, shown, ftype, fmt, columns or {}, text_unit)
    except DataProblem as e:
        raise RunnerError(str(e)) from None
    datasets.disable_progress_bars()
    datasets.logging.set_verbosity_error()
    builder = {"jsonl": "json", "json": "json", "csv": "csv", "parquet": "parquet",
               "text": "text"}[ftype]
    kwargs: dict[str, Any] = {}
    if ftype == "csv":  # every column read as text: "22" stays a string, an empty cell is None
        import csv

        with open(path, encoding="utf-8-sig", newline="") as f:
            header = next(csv.reader(f), [])
        kwargs["features"] = datasets.Features({c: datasets.Value("string") for c in header})
    if ftype == "text":
        kwargs["sample_by"] = "document" if text_unit == "file" else "line"
    with tempfile.TemporaryDirectory(prefix="repro-ds-") as cache:
        try:
            ds = datasets.load_dataset(
                builder, data_files=str(path), split="train", cache_dir=cache, **kwargs
            )
            records = ds.to_list()
        except Exception as e:  # noqa: BLE001 - reader errors come in many types
            raise RunnerError(f"{shown}: cannot read as {ftype}: {_first_line(e)}") from None
    if not records:
        raise RunnerError(f"{shown}: no rows")
    if ftype == "jsonl":
        lines: list[int] = []

        def where(i: int) -> str:
            if not lines:
                lines.extend(_nonblank_lines(path))
            return f"{lines[i]}" if i < len(lines) else f"row {i + 1}"

        return records, where
    if ftype == "text" and text_unit == "line":
        return records, lambda i: f"{i + 1}"
    if ftype == "csv":
        return records, lambda i: f"row {i + 1}"
    return records, lambda i: f"row {i + 1}"


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0][:300] if text else type(e).__name__


def _nonblank_lines(path: Path) -> list[int]:
    with open(path, encoding="utf-8-sig") as f:
        return [n for n, line in enumerate(f, start=1) if line.strip()]


# ----------------------------------------------------------------------------- rows


def to_row(
    rec: dict[str, Any], fmt: str, columns: dict[str, str], where, keep: tuple[str, ...] = ()
):
    """The record as a row of ``fmt`` (columns renamed), or INVALID for an empty value or
    a malformed chat turn. Raises RunnerError for a missing column or a wrong type;
    ``where()`` names the record's place for that message."""
    try:
        return convert_row(rec, fmt, columns, keep)
    except RowError as e:
        raise RunnerError(f"{where()}: {e.message}") from None


def main(argv: list[str] | None = None) -> int:
    """``python -m runners.data.sources builtin-hash NAME SIZE SEED`` prints ``{"hash": ...}``
    (how ``repro pin`` gets a built-in data set's hash without importing the generators)."""
    import argparse

    from runners.entry import run

    p = argparse.ArgumentParser(prog="python -m runners.data.sources")
    h = p.add_subparsers(dest="command", required=True).add_parser("builtin-hash")
    for arg, kind in (("name", str), ("size", int), ("seed", int)):
        h.add_argument(arg, type=kind)
    args = p.parse_args(argv)

    def body() -> None:
        if args.name not in builtin.GENERATORS:
            raise RunnerError(f"unknown built-in data set {args.name!r}")
        print(json.dumps({"hash": builtin_hash(args.name, args.size, args.seed)}))

    return run(body)


if __name__ == "__main__":
    raise SystemExit(main())
