"""Data files checked against their format: the one set of messages validate and prepare share.

`repro validate` reads a bounded sample of a ``data.source.path`` (SAMPLE_BYTES and SAMPLE_ROWS
per source: a second or two on a large file); the prepare stage scans every row with the same
functions before it reads the data, so a problem is named the same way whichever finds it:
the user's file, the line and column, and the value that is actually there. Import-light
(json, csv): both planes import it.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from repro.spec.sections.data import FORMAT_COLUMNS, FORMATS, LABEL_VALUES

SAMPLE_BYTES = 4 * 1024 * 1024
SAMPLE_ROWS = 2000
EXTENSIONS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json", ".csv": "csv",
              ".parquet": "parquet", ".txt": "text", ".text": "text"}
OPTIONAL_COLUMNS = {c for cols in FORMATS.values() for c, kind in cols.items()
                    if kind.endswith("?")}
ROLES = ("system", "user", "assistant")
INVALID = object()  # a row that cleaning drops (an empty value, a malformed chat turn)


class DataProblem(Exception):
    """One problem in one data file: where it is (file, 1-based line and column), what is wrong."""

    def __init__(self, file: str, line: int, col: int, message: str, hint: str | None = None):
        super().__init__(message)
        self.file, self.line, self.col, self.message, self.hint = file, line, col, message, hint

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.col}" if self.line else self.file
        return f"{where}: {self.message}" + (f" ({self.hint})" if self.hint else "")


class RowError(Exception):
    """A record that cannot be a row of its format: ``column`` is the source column at fault."""

    def __init__(self, column: str | None, message: str):
        super().__init__(message)
        self.column, self.message = column, message


def a_kind(value: Any) -> str:
    """``an integer: 5``: the type and the value, for messages."""
    name = {"str": "a string", "int": "an integer", "float": "a number", "list": "a list",
            "dict": "an object", "bool": "a boolean", "NoneType": "null"}.get(
        type(value).__name__, type(value).__name__)
    text = json.dumps(value, ensure_ascii=False, default=str)
    return f"{name}: {text[:40]}{'...' if len(text) > 40 else ''}"


def _kind_of(t: str) -> str:
    return {"str": "a string", "int": "an integer", "float": "a number", "list": "a list",
            "dict": "an object", "bool": "a boolean"}.get(t, t)


def file_type(path: Path, declared: str, shown: str) -> str:
    if declared != "auto":
        return declared
    kind = EXTENSIONS.get(path.suffix.lower())
    if kind is None:
        raise DataProblem(shown, 0, 0, "cannot tell the file type from its extension "
                          f"'{path.suffix or '(none)'}'",
                          f"known: {', '.join(sorted(EXTENSIONS))}; or set data.source.type")
    return kind


# ----------------------------------------------------------------------------- rows


def convert_row(rec: dict[str, Any], fmt: str, columns: dict[str, str], keep=()) -> Any:
    """The record as a row of ``fmt`` (columns renamed by ``columns``: format -> source), or
    INVALID; raises RowError for a missing column or a value of the wrong type."""
    row: dict[str, Any] = {}
    for col, kind in FORMATS[fmt].items():
        src = columns.get(col, col)
        if src not in rec:
            if kind.endswith("?"):
                row[col] = ""
                continue
            have = ", ".join(sorted(rec)) or "none"
            need = ", ".join(c for c, k in FORMATS[fmt].items() if not k.endswith("?"))
            hint = (f"map it with data.columns: {{{col}: <your column>}}" if src == col
                    else f"data.columns maps '{col}' to '{src}'")
            raise RowError(src, f"missing column '{src}' (format {fmt} needs {need}; "
                           f"found: {have}; {hint})")
        value = rec[src]
        if value is None:
            if kind.endswith("?"):
                row[col] = ""
                continue
            return INVALID
        if kind == "messages":
            if not isinstance(value, list):
                raise RowError(src, f"column '{src}' must be a list of messages "
                               f"(got {a_kind(value)})")
            messages = _messages(value)
            if messages is None:
                return INVALID
            row[col] = messages
            continue
        if kind == "label":
            label = feedback_label(value)
            if label is None:
                raise RowError(src, f"column '{src}' must be a boolean label (true/false, 1/0, "
                               f"desirable/undesirable; got {a_kind(value)})")
            row[col] = label
            continue
        if kind == "bool":
            if not isinstance(value, bool):
                raise RowError(src, f"column '{src}' must be true or false (got {a_kind(value)})")
            row[col] = value
            continue
        if not isinstance(value, str):
            raise RowError(src, f"column '{src}' must be a string (got {a_kind(value)})")
        if not value.strip() and not kind.endswith("?"):
            return INVALID
        row[col] = value
    for col in keep:
        if col in rec and col not in row:
            row[col] = rec[col]
    return row


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


# ----------------------------------------------------------------------------- files


@dataclass
class Scan:
    """What a scan saw: the rows (records) read, and whether it read every one."""

    rows: int
    complete: bool


class _Rows:
    """Checks records one by one (types stable across rows, format columns present)."""

    def __init__(self, shown: str, fmt: str, columns: dict[str, str]):
        self.shown, self.fmt, self.columns = shown, fmt, columns
        self.types: dict[str, tuple[str, int]] = {}
        self.seen: set[str] = set()
        self.first: tuple[dict, int] | None = None
        self.n = 0

    def add(self, rec: dict[str, Any], line: int, text: str = "") -> None:
        self.n += 1
        if self.first is None:
            self.first = (rec, line)
        self.seen.update(rec)
        # a column missing from this row but present in others is null here (an invalid row)
        filled = {**{k: None for k in self.seen if k not in rec}, **rec}
        try:
            convert_row(filled, self.fmt, self.columns)
        except RowError as e:
            if not e.message.startswith("missing column"):  # that one: judged at the end
                raise DataProblem(self.shown, line, _col_of(text, e.column), e.message) from None
        for key, value in rec.items():
            if value is None:
                continue
            t = type(value).__name__
            first = self.types.setdefault(key, (t, line))
            if first[0] != t and {first[0], t} != {"int", "float"}:
                raise DataProblem(self.shown, line, _col_of(text, key),
                                  f"column '{key}' is {a_kind(value)} here but "
                                  f"{_kind_of(first[0])} on line {first[1]}",
                                  "every row must hold the same type in a column")

    def finish(self) -> None:
        if self.first is None:
            return
        rec, line = self.first
        filled = {**{k: None for k in self.seen}, **rec}
        try:
            convert_row(filled, self.fmt, self.columns)
        except RowError as e:
            raise DataProblem(self.shown, line, 1, e.message) from None


def _col_of(text: str, key: str | None) -> int:
    """The 1-based column of ``key``'s value in one JSON line (1 when it cannot be found)."""
    if not text or key is None:
        return 1
    at = text.find(json.dumps(key, ensure_ascii=False))
    if at < 0:
        return 1
    colon = text.find(":", at + len(json.dumps(key, ensure_ascii=False)))
    if colon < 0:
        return at + 1
    rest = text[colon + 1:]
    return colon + 2 + (len(rest) - len(rest.lstrip()))


def _lines(path: Path, shown: str, max_bytes: int | None):
    """(line number, text) of each line, decoded as UTF-8; stops after ``max_bytes``."""
    read = 0
    with open(path, "rb") as f:
        for lineno, raw in enumerate(f, start=1):
            if lineno == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                raise DataProblem(shown, lineno, e.start + 1,
                                  f"not valid UTF-8 (byte 0x{raw[e.start]:02x})",
                                  "save the file as UTF-8") from None
            yield lineno, text
            read += len(raw)
            if max_bytes is not None and read >= max_bytes:
                yield 0, ""  # the sample ends here
                return


def scan_file(path: Path, shown: str, ftype: str, fmt: str, columns: dict[str, str],
              text_unit: str = "line", max_bytes: int | None = None,
              max_rows: int | None = None) -> Scan:
    """Check one data file (all of it, or up to the limits); raise DataProblem."""
    if path.stat().st_size == 0:
        raise DataProblem(shown, 1, 1, "file is empty", "a data file needs at least one row")
    rows = _Rows(shown, fmt, columns)
    if ftype == "parquet":
        with open(path, "rb") as f:
            head = f.read(4)
        if head != b"PAR1":
            raise DataProblem(shown, 1, 1, f"not a Parquet file (it starts with {head!r})",
                              "set data.source.type, or fix the file extension")
        return Scan(0, False)
    if ftype == "text":
        if fmt != "text" or set(columns) - {"text"}:
            raise DataProblem(shown, 1, 1, f"a plain text file has one column, text; format "
                              f"{fmt} needs {', '.join(FORMAT_COLUMNS[fmt])}",
                              "use a .jsonl or .csv file with those columns")
        n, complete, blank = 0, True, True
        for lineno, text in _lines(path, shown, max_bytes):
            if lineno == 0:
                complete = False
                break
            blank = blank and not text.strip()
            n += 1
        if blank and complete:
            raise DataProblem(shown, 1, 1, "file holds only blank lines")
        return Scan(1 if text_unit == "file" else n, complete)
    if ftype == "jsonl":
        return _scan_jsonl(path, shown, rows, max_bytes, max_rows)
    if ftype == "csv":
        return _scan_csv(path, shown, rows, fmt, max_bytes, max_rows)
    return _scan_json(path, shown, rows, max_bytes)


def _scan_jsonl(path, shown, rows: _Rows, max_bytes, max_rows) -> Scan:
    complete = True
    for lineno, text in _lines(path, shown, max_bytes):
        if lineno == 0 or (max_rows is not None and rows.n >= max_rows):
            complete = False
            break
        if not text.strip():
            continue
        try:
            rec = json.loads(text.rstrip("\r\n"))
        except json.JSONDecodeError as e:
            raise DataProblem(shown, lineno, e.colno, f"invalid JSON: {e.msg} "
                              f"(got {text.strip()[:40]!r})", "one JSON object per line") from None
        if not isinstance(rec, dict):
            raise DataProblem(shown, lineno, 1, f"expected a JSON object, got {a_kind(rec)}",
                              "one JSON object per line, e.g. {\"text\": \"...\"}")
        rows.add(rec, lineno, text)
    if not rows.n and complete:
        raise DataProblem(shown, 1, 1, "no rows (only blank lines)")
    rows.finish()
    return Scan(rows.n, complete)


def _scan_csv(path, shown, rows: _Rows, fmt, max_bytes, max_rows) -> Scan:
    if "messages" in FORMATS[fmt].values():
        raise DataProblem(shown, 1, 1, f"format {fmt} needs a list of messages per row; a CSV "
                          "cell holds text", "use a .jsonl file")
    lines = []
    complete = True
    for lineno, text in _lines(path, shown, max_bytes):
        if lineno == 0:
            complete = False
            break
        lines.append(text)
    reader = csv.reader(io.StringIO("".join(lines)))
    try:
        header = next(reader, None)
        if not header:
            raise DataProblem(shown, 1, 1, "no header line", "the first line names the columns")
        for record in reader:
            if not complete and reader.line_num >= len(lines):
                break  # the last line of a sample may be cut short
            if max_rows is not None and rows.n >= max_rows:
                complete = False
                break
            if not any(cell.strip() for cell in record):
                continue
            if len(record) > len(header):
                raise DataProblem(shown, reader.line_num, 1, f"{len(record)} fields, but the "
                                  f"header has {len(header)} ({','.join(record)[:40]!r})",
                                  "quote cells that hold commas")
            rows.add({h: (v if v != "" else None) for h, v in zip(header, record, strict=False)},
                     reader.line_num)
    except csv.Error as e:
        raise DataProblem(shown, reader.line_num, 1, f"not valid CSV: {e}") from None
    if not rows.n and complete:
        raise DataProblem(shown, 2, 1, "no rows under the header")
    rows.finish()
    return Scan(rows.n, complete)


def _scan_json(path, shown, rows: _Rows, max_bytes) -> Scan:
    size = path.stat().st_size
    if max_bytes is not None and size > max_bytes:
        with open(path, "rb") as f:
            head = f.read(64).lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
        if head != b"[":
            raise DataProblem(shown, 1, 1, "a .json file must hold a list of objects",
                              "for one object per line, name the file .jsonl")
        return Scan(0, False)
    try:
        text = path.read_bytes().decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError:
        for _ in _lines(path, shown, None):  # raises, naming the line
            pass
        raise
    dec = json.JSONDecoder()
    i = len(text) - len(text.lstrip())
    if text[i:i + 1] != "[":
        raise DataProblem(shown, 1, 1, "a .json file must hold a list of objects",
                          "for one object per line, name the file .jsonl")
    i += 1
    while True:
        while i < len(text) and text[i] in " \t\r\n,":
            i += 1
        if i >= len(text):
            raise DataProblem(shown, *_line_col(text, i), "invalid JSON: unterminated list")
        if text[i] == "]":
            break
        try:
            rec, end = dec.raw_decode(text, i)
        except json.JSONDecodeError as e:
            raise DataProblem(shown, e.lineno, e.colno, f"invalid JSON: {e.msg}") from None
        line, col = _line_col(text, i)
        if not isinstance(rec, dict):
            raise DataProblem(shown, line, col, f"expected a JSON object, got {a_kind(rec)}")
        rows.add(rec, line)
        i = end
    if not rows.n:
        raise DataProblem(shown, 1, 1, "no rows (an empty list)")
    rows.finish()
    return Scan(rows.n, True)


def _line_col(text: str, i: int) -> tuple[int, int]:
    return text.count("\n", 0, i) + 1, i - (text.rfind("\n", 0, i) + 1) + 1


def scan_source(full: Path, rel: str, declared: str, fmt: str, columns: dict[str, str],
                text_unit: str = "line", root: Path | None = None,
                bounded: bool = True) -> tuple[Scan, bool]:
    """Check a file or folder source; returns the scan and whether it has its own splits.

    ``root``: files must resolve inside it (a symlink in a data folder may not lead out)."""
    from repro.contract.hashing import data_files

    files = data_files(full)
    if full.is_dir() and declared == "auto":
        files = [f for f in files if f.suffix.lower() in EXTENSIONS]
    if not files:
        raise DataProblem(rel, 0, 0, "no data files found",
                          f"known extensions: {', '.join(sorted(EXTENSIONS))}")
    total, complete, named = 0, True, False
    budget_bytes = SAMPLE_BYTES if bounded else None
    budget_rows = SAMPLE_ROWS if bounded else None
    for f in files:
        shown = rel if f == full else f"{rel.rstrip('/')}/{f.relative_to(full).as_posix()}"
        if root is not None and not f.resolve().is_relative_to(Path(root).resolve()):
            raise DataProblem(shown, 0, 0, "is outside the workspace (a symlink leads to "
                              f"{f.resolve()})", "copy the file into the workspace")
        if f != full:
            named = named or split_of(f.relative_to(full)) is not None
        if budget_bytes is not None and budget_bytes <= 0:
            complete = False
            break
        scan = scan_file(f, shown, file_type(f, declared, shown), fmt, columns, text_unit,
                         budget_bytes, budget_rows)
        total += scan.rows
        complete = complete and scan.complete
        if budget_bytes is not None:
            budget_bytes -= f.stat().st_size
            budget_rows = max(0, budget_rows - scan.rows)
    return Scan(total, complete), named


SPLIT_NAMES = {"train": "train", "training": "train", "validation": "validation",
               "valid": "validation", "val": "validation", "dev": "validation",
               "test": "test", "testing": "test"}


def split_of(rel: Path) -> str | None:
    """The split a file in a data folder belongs to, by its name or its folder's."""
    for part in (rel.stem, *(p for p in rel.parts[:-1])):
        head = part.lower().replace("-", "_").split("_")[0].split(".")[0]
        if head in SPLIT_NAMES:
            return SPLIT_NAMES[head]
    return None


def split_sizes(n: int, validation: float, test: float) -> dict[str, int]:
    """Rows per split for ``n`` rows, rounded the way the prepare stage carves them."""
    t, v = round(n * test), round(n * validation)
    return {"train": n - t - v, "validation": v, "test": t}


def min_rows(validation: float, test: float) -> int:
    """The fewest rows that give every requested split at least one row."""
    for n in range(1, 100_000):
        sizes = split_sizes(n, validation, test)
        if sizes["train"] >= 1 and (not validation or sizes["validation"]) and (
                not test or sizes["test"]):
            return n
    return 100_000


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
