"""Loading a data set's raw rows from its ``source``: a built-in generator, local files, a hub id.

Local files and hub snapshots are read with the ``datasets`` library (JSON lines, JSON, CSV,
Parquet, plain text one row per line or per file). A folder whose files are named after
splits (``train*``, ``validation*``/``valid*``/``val*``/``dev*``, ``test*``) keeps those splits.

Rows come back in the columns of their format, renamed by the spec's ``columns`` mapping
(format column -> source column):

- text ``{"text"}``; instruction ``{"instruction", "input", "output"}``;
- chat ``{"messages": [{"role", "content"}, ...]}``; preference ``{"prompt", "chosen", "rejected"}``;
  feedback ``{"prompt", "completion", "label"}`` (label: a boolean, see ``feedback_label``).

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
from repro.contract.sources import SourceUnavailable, hub_folder, local_path, source_label
from repro.spec.sections.data import FORMAT_COLUMNS, LABEL_VALUES
from runners.data import builtin
from runners.errors import RunnerError

OPTIONAL_COLUMNS = {"input"}
ROLES = ("system", "user", "assistant")
EXTENSIONS = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",
    ".csv": "csv",
    ".parquet": "parquet",
    ".txt": "text",
    ".text": "text",
}
SPLIT_NAMES = {
    "train": "train",
    "training": "train",
    "validation": "validation",
    "valid": "validation",
    "val": "validation",
    "dev": "validation",
    "test": "test",
    "testing": "test",
}
INVALID = object()  # marks a row that cleaning drops as invalid


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
        full = local_path(root, rel)
        if not full.exists():
            raise RunnerError(f"{rel}: data file or folder not found")
        return _load_files(full, rel, source, fmt, columns, keep, "path", source_label(source))
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
    if declared != "auto":
        return declared
    kind = EXTENSIONS.get(path.suffix.lower())
    if kind is None:
        known = ", ".join(sorted(EXTENSIONS))
        raise RunnerError(
            f"{path.name}: cannot tell the file type from its extension (known: {known}); "
            "set data.source.type"
        )
    return kind


def _split_of(rel: Path) -> str | None:
    for part in (rel.stem, *(p for p in rel.parts[:-1])):
        head = part.lower().replace("-", "_").split("_")[0].split(".")[0]
        if head in SPLIT_NAMES:
            return SPLIT_NAMES[head]
    return None


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
            records, where = read_records(path, ftype, shown, source.get("text_unit", "line"))
            for i, rec in enumerate(records):
                row = to_row(rec, fmt, columns, lambda i=i, s=shown, w=where: f"{s}:{w(i)}", keep)
                if row is INVALID:
                    invalid[split].append(rec)
                else:
                    splits[split].append(row)
    return RawData(splits, raw_hash, origin, kind, entries, invalid)


def read_records(path: Path, ftype: str, shown: str, text_unit: str = "line"):
    """The records of one file, read with ``datasets``, and a function giving the place of
    record ``i`` for messages: ``line N`` for JSON lines and text, ``row N`` otherwise.

    When the reader fails, the file is scanned line by line to name the line and column at
    fault (Arrow's own messages name neither)."""
    import datasets

    datasets.disable_progress_bars()
    datasets.logging.set_verbosity_error()
    builder = {"jsonl": "json", "json": "json", "csv": "csv", "parquet": "parquet",
               "text": "text"}[ftype]
    kwargs: dict[str, Any] = {}
    if ftype == "csv":  # every column read as text: "22" stays a string, an empty cell is None
        import csv

        with open(path, encoding="utf-8", newline="") as f:
            header = next(csv.reader(f), [])
        kwargs["features"] = datasets.Features({c: datasets.Value("string") for c in header})
    if ftype == "text":
        kwargs["sample_by"] = "document" if text_unit == "file" else "line"
    if ftype == "jsonl":
        _check_objects(path, shown)
    with tempfile.TemporaryDirectory(prefix="repro-ds-") as cache:
        try:
            ds = datasets.load_dataset(
                builder, data_files=str(path), split="train", cache_dir=cache, **kwargs
            )
            records = ds.to_list()
        except Exception as e:  # noqa: BLE001 - reader errors come in many types
            if ftype in ("jsonl", "text", "json", "csv"):
                _check_utf8(path, shown)
            if ftype == "jsonl":
                _check_jsonl(path, shown)
            raise RunnerError(f"{shown}: cannot read as {ftype}: {_first_line(e)}") from None
    if not records:
        raise RunnerError(f"{shown}: no rows")
    if ftype == "jsonl":
        lines: list[int] = []

        def where(i: int) -> str:
            if not lines:
                lines.extend(_nonblank_lines(path))
            return f"line {lines[i]}" if i < len(lines) else f"row {i + 1}"

        return records, where
    if ftype == "text" and text_unit == "line":
        return records, lambda i: f"line {i + 1}"
    return records, lambda i: f"row {i + 1}"


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0][:300] if text else type(e).__name__


def _check_utf8(path: Path, shown: str) -> None:
    with open(path, "rb") as f:
        for lineno, line in enumerate(f, start=1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError as e:
                raise RunnerError(
                    f"{shown}:line {lineno}: not valid UTF-8 "
                    f"(byte 0x{line[e.start]:02x} at column {e.start + 1})"
                ) from None


def _check_objects(path: Path, shown: str) -> None:
    """Every JSON line must hold an object (a cheap look at its first byte)."""
    with open(path, "rb") as f:
        for lineno, line in enumerate(f, start=1):
            head = line.lstrip()[:1]
            if head and head != b"{":
                kind = {b"[": "a list", b'"': "a string"}.get(head, "not an object")
                raise RunnerError(f"{shown}:line {lineno}: expected a JSON object, got {kind}")


def _nonblank_lines(path: Path) -> list[int]:
    with open(path, encoding="utf-8") as f:
        return [n for n, line in enumerate(f, start=1) if line.strip()]


def _check_jsonl(path: Path, shown: str) -> None:
    """Find the first malformed line or mistyped column before Arrow does (it names neither)."""
    seen_types: dict[str, tuple[str, int]] = {}
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                raise RunnerError(f"{shown}:line {lineno}: invalid JSON: {e.msg} "
                                  f"(column {e.colno})") from None
            if not isinstance(obj, dict):
                raise RunnerError(
                    f"{shown}:line {lineno}: expected a JSON object, got {type(obj).__name__}"
                )
            for key, value in obj.items():
                if value is None:
                    continue
                t = type(value).__name__
                first = seen_types.setdefault(key, (t, lineno))
                if first[0] != t and {first[0], t} != {"int", "float"}:
                    raise RunnerError(
                        f"{shown}:line {lineno}: column '{key}' is {_a(t)} here but "
                        f"{_a(first[0])} on line {first[1]}"
                    )


def _a(t: str) -> str:
    return {"str": "a string", "int": "an integer", "float": "a number", "list": "a list",
            "dict": "an object", "bool": "a boolean"}.get(t, t)


# ----------------------------------------------------------------------------- rows


def to_row(
    rec: dict[str, Any], fmt: str, columns: dict[str, str], where, keep: tuple[str, ...] = ()
):
    """The record as a row of ``fmt`` (columns renamed), or INVALID for an empty value or
    a malformed chat turn. Raises RunnerError for a missing column or a wrong type;
    ``where()`` names the record's place for that message."""
    row: dict[str, Any] = {}
    for col in FORMAT_COLUMNS[fmt]:
        src = columns.get(col, col)
        if src not in rec:
            if col in OPTIONAL_COLUMNS:
                row[col] = ""
                continue
            have = ", ".join(sorted(rec)) or "none"
            hint = f"map it with data.columns: {{{col}: <your column>}}" if src == col else (
                f"data.columns maps '{col}' to '{src}'"
            )
            raise RunnerError(
                f"{where()}: missing column '{src}' (format {fmt} needs "
                f"{', '.join(c for c in FORMAT_COLUMNS[fmt] if c not in OPTIONAL_COLUMNS)}; "
                f"found: {have}; {hint})"
            )
        value = rec[src]
        if value is None:
            if col in OPTIONAL_COLUMNS:
                row[col] = ""
                continue
            return INVALID
        if col == "label":
            label = feedback_label(value)
            if label is None:
                raise RunnerError(
                    f"{where()}: column '{src}' must be a boolean label (true/false, 1/0, "
                    f"desirable/undesirable; got {json.dumps(value)[:40]})"
                )
            row[col] = label
            continue
        if fmt == "chat":
            if not isinstance(value, list):
                raise RunnerError(
                    f"{where()}: column '{src}' must be a list of messages (got {_a(type(value).__name__)})"
                )
            messages = _messages(value)
            if messages is None:
                return INVALID
            row[col] = messages
            continue
        if not isinstance(value, str):
            raise RunnerError(
                f"{where()}: column '{src}' must be a string (got {_a(type(value).__name__)}: "
                f"{json.dumps(value)[:40]})"
            )
        if not value.strip() and col not in OPTIONAL_COLUMNS:
            return INVALID
        row[col] = value
    for col in keep:
        if col in rec and col not in row:
            row[col] = rec[col]
    return row


def feedback_label(value: Any) -> bool | None:
    """A feedback row's label as a boolean (None when it is not one): a boolean, 0 or 1,
    or one of ``LABEL_VALUES`` (true/false, desirable/undesirable, ...)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        return LABEL_VALUES.get(value.strip().lower())
    return None


def _messages(value: list) -> list[dict[str, str]] | None:
    """Normalised chat turns, or None when a turn is malformed or no assistant speaks."""
    out = []
    for m in value:
        if not isinstance(m, dict) or m.get("role") not in ROLES:
            return None
        content = m.get("content")
        if not isinstance(content, str) or not content.strip():
            return None
        out.append({"role": m["role"], "content": content})
    if not any(m["role"] == "assistant" for m in out):
        return None
    return out


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
