"""Reading judgment files (the sheet's JSON, or its CSV filled in) with compiler-style errors.

Every problem is reported, each as ``file:line:col: field: message (hint)``, and nothing is
written unless the whole file is good. The JSON file is the one the HTML sheet saves
(``{"human_judgments_version": 1, "sheet_id", "annotator", "judgments": [{"item",
"verdict"}]}``); the CSV is ``sheet.csv`` with its ``verdict`` column filled in (and an
``annotator`` column, or ``--annotator``), where verdicts are read case-insensitively and
``both bad`` may be spelt with a space. Used by ``repro human import`` and, on the files it
wrote, again by the scoring stage (a hand-edited file gets the same checks).
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from typing import Any

from repro.contract.records.human import ANNOTATOR_PATTERN, VERDICTS, Judgments, SheetKey
from repro.errors import Pos, SpecError, SpecErrors

MAX_BYTES = 16 * 1024 * 1024
TOP_KEYS = ("human_judgments_version", "sheet_id", "annotator", "judgments")


def _suggest(word: str, choices) -> str | None:
    """The closest choice (difflib; not repro.spec.validate, which pulls in the whole schema
    and so would make the scoring stage depend on every section's code)."""
    import difflib

    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return close[0] if close else None


def _read(path: Path, file: str) -> str:
    if not path.is_file():
        raise SpecErrors([SpecError("file not found" if not path.exists() else "not a file",
                                    pos=Pos(file))])
    if path.stat().st_size > MAX_BYTES:
        raise SpecErrors([SpecError(f"file is over {MAX_BYTES // 2**20} MiB", pos=Pos(file))])
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as e:
        line = raw.count(b"\n", 0, e.start) + 1
        raise SpecErrors([SpecError(f"not valid UTF-8 (byte 0x{raw[e.start]:02x})",
                                    pos=Pos(file, line, 1), hint="save the file as UTF-8")]
                         ) from None


def _positions(text: str, file: str) -> tuple[dict[tuple, Pos], dict[tuple, Pos]]:
    """Where each key and list item starts, and each key's value (best effort: JSON is
    YAML to ruamel). Walked here, not with repro.spec.loader, whose imports reach the whole
    schema (the scoring stage would then depend on every section's code)."""
    from ruamel.yaml import YAML
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    positions: dict[tuple, Pos] = {}
    values: dict[tuple, Pos] = {}

    def walk(node: Any, path: tuple) -> None:
        if isinstance(node, CommentedMap):
            for k, v in node.items():
                line, col = node.lc.key(k)
                positions[(*path, k)] = Pos(file, line + 1, col + 1)
                vline, vcol = node.lc.value(k)
                values[(*path, k)] = Pos(file, vline + 1, vcol + 1)
                walk(v, (*path, k))
        elif isinstance(node, CommentedSeq):
            for i, v in enumerate(node):
                line, col = node.lc.item(i)
                positions[(*path, i)] = Pos(file, line + 1, col + 1)
                walk(v, (*path, i))

    try:
        walk(YAML(typ="rt", pure=True).load(text), ())
    except Exception:  # noqa: BLE001 - positions are only for nicer messages
        pass
    return positions, values


def load_json(path: Path, key: SheetKey, file: str | None = None) -> Judgments:
    """A judgments JSON file, checked against the sheet's key."""
    file = file or str(path)
    text = _read(path, file)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise SpecErrors([SpecError(f"not JSON: {e.msg}", pos=Pos(file, e.lineno, e.colno),
                                    hint="hand back the file the sheet saved, unedited")]
                         ) from None
    pos, values = _positions(text, file)

    def at(*path: Any, value: bool = True) -> Pos:
        if value and path and not isinstance(path[-1], int) and path in values and path in pos:
            return values[path]  # a bad value: point at it, not at its key
        for n in range(len(path), -1, -1):
            if path[:n] in pos:
                return pos[path[:n]]
        return Pos(file, 1, 1)

    errors: list[SpecError] = []

    def err(path: tuple, message: str, hint: str | None = None) -> None:
        on_key = bool(path) and path[-1] is None  # (..., key, None): at the key, not its value
        path = tuple(p for p in path if p is not None)
        field = ".".join(str(p) if not isinstance(p, int) else f"[{p}]" for p in path)
        errors.append(SpecError(message, pos=at(*path, value=not on_key), field=field.replace(".[", "[") or None,
                                hint=hint))

    if not isinstance(data, dict):
        raise SpecErrors([SpecError(f"must be a JSON object, not {type(data).__name__}",
                                    pos=Pos(file, 1, 1))])
    for k in data:
        if k not in TOP_KEYS:
            guess = _suggest(k, TOP_KEYS)
            err((k, None), "unknown field", f"did you mean '{guess}'?" if guess else
                "allowed: " + ", ".join(TOP_KEYS))
    for k in TOP_KEYS:
        if k not in data:
            err((), f"missing required field '{k}'")
    version = data.get("human_judgments_version")
    if "human_judgments_version" in data and version != Judgments.VERSION:
        err(("human_judgments_version",), f"unknown version {version!r} (this repro reads "
            f"{Judgments.VERSION})")
    sheet = data.get("sheet_id")
    if "sheet_id" in data and sheet != key.sheet_id:
        err(("sheet_id",), f"these judgments are for sheet {sheet!r}, not this one "
            f"({key.sheet_id})", "import them into the sheet they came from, or re-export and "
            "judge the new sheet")
    annotator = data.get("annotator")
    if "annotator" in data and not (isinstance(annotator, str)
                                    and re.match(ANNOTATOR_PATTERN, annotator)):
        err(("annotator",), f"must be a name of letters, digits, '.', '_' or '-' (got "
            f"{annotator!r})", "type your name or initials in the sheet before saving")
    items = data.get("judgments")
    if "judgments" in data:
        if not isinstance(items, list):
            err(("judgments",), "must be a list of {item, verdict}")
        elif not items:
            err(("judgments",), "no judgments in the file", "judge at least one item")
        else:
            _check_items(items, key, err)
    if errors:
        errors.sort(key=lambda e: (e.pos.line, e.pos.col) if e.pos else (0, 0))
        raise SpecErrors(errors)
    return Judgments(sheet_id=sheet, annotator=annotator,
                     judgments=sorted(items, key=lambda j: j["item"]))


def _check_items(items: list, key: SheetKey, err) -> None:
    known = key.sides()
    first: dict[int, int] = {}
    for n, j in enumerate(items):
        where = ("judgments", n)
        if not isinstance(j, dict):
            err(where, "must be an object {item, verdict}")
            continue
        for k in j:
            if k not in ("item", "verdict"):
                guess = _suggest(k, ("item", "verdict"))
                err((*where, k, None), "unknown field", f"did you mean '{guess}'?" if guess else
                    "allowed: item, verdict")
        item, verdict = j.get("item"), j.get("verdict")
        if "item" not in j:
            err(where, "missing required field 'item'")
        elif not isinstance(item, int) or isinstance(item, bool) or item not in known:
            err((*where, "item"), f"no item {item!r} on this sheet (items 1 to {len(known)})")
        elif item in first:
            err((*where, "item"), f"item {item} is judged twice in this file (first at "
                f"judgments[{first[item]}])", "keep one verdict per item")
        else:
            first[item] = n
        if "verdict" not in j:
            err(where, "missing required field 'verdict'")
        elif verdict not in VERDICTS:
            guess = _suggest(str(verdict), VERDICTS)
            err((*where, "verdict"), f"must be one of {', '.join(VERDICTS)} (got {verdict!r})",
                f"did you mean '{guess}'?" if guess else None)


def _verdict(text: str) -> str | None:
    t = re.sub(r"[\s-]+", "_", text.strip()).lower()
    return {"a": "A", "b": "B", "tie": "tie", "both_bad": "both_bad"}.get(t)


def load_csv(path: Path, key: SheetKey, annotator: str | None = None,
             file: str | None = None) -> list[Judgments]:
    """The filled-in ``sheet.csv``: one :class:`Judgments` per annotator named in it (or
    ``annotator``); rows with an empty verdict are not judged yet and are skipped."""
    file = file or str(path)
    text = _read(path, file)
    reader = csv.DictReader(io.StringIO(text, newline=""))
    cols = reader.fieldnames or []
    errors: list[SpecError] = []
    need = ["sheet_id", "item", "verdict"] + ([] if annotator else ["annotator"])
    missing = [c for c in need if c not in cols]
    if missing:
        hint = ("pass --annotator NAME, or add an annotator column" if missing == ["annotator"]
                else "fill in sheet.csv as exported; keep its header line")
        raise SpecErrors([SpecError(f"missing column(s): {', '.join(missing)}",
                                    pos=Pos(file, 1, 1), hint=hint)])
    known = key.sides()
    by_annotator: dict[str, dict[int, str]] = {}
    first: dict[tuple[str, int], int] = {}
    col = {c: i + 1 for i, c in enumerate(cols)}
    for row in reader:
        line = reader.line_num

        def err(column: str, message: str, hint: str | None = None, line: int = line) -> None:
            errors.append(SpecError(message, pos=Pos(file, line, col.get(column, 1)),
                                    field=column, hint=hint))

        raw = (row.get("verdict") or "").strip()
        if not raw:
            continue
        who = (row.get("annotator") or "").strip() or annotator
        if annotator and row.get("annotator", "").strip() not in ("", annotator):
            err("annotator", f"row says {row['annotator']!r}, --annotator says {annotator!r}")
            continue
        if not who:
            err("annotator", "no annotator for this verdict",
                "fill in the annotator column, or pass --annotator NAME")
            continue
        if not re.match(ANNOTATOR_PATTERN, who):
            err("annotator", f"must be a name of letters, digits, '.', '_' or '-' (got {who!r})")
            continue
        if row.get("sheet_id") != key.sheet_id:
            err("sheet_id", f"row is from sheet {row.get('sheet_id')!r}, not this one "
                f"({key.sheet_id})")
            continue
        try:
            item = int(row.get("item") or "")
        except ValueError:
            err("item", f"must be an item number (got {row.get('item')!r})")
            continue
        if item not in known:
            err("item", f"no item {item} on this sheet (items 1 to {len(known)})")
            continue
        verdict = _verdict(raw)
        if verdict is None:
            guess = _suggest(raw, VERDICTS)
            err("verdict", f"must be one of {', '.join(VERDICTS)} (got {raw!r})",
                f"did you mean '{guess}'?" if guess else None)
            continue
        if (who, item) in first:
            err("item", f"item {item} is judged twice by {who} (first at line "
                f"{first[(who, item)]})", "keep one verdict per item")
            continue
        first[(who, item)] = line
        by_annotator.setdefault(who, {})[item] = verdict
    if errors:
        raise SpecErrors(errors)
    if not by_annotator:
        raise SpecErrors([SpecError("no verdicts filled in", pos=Pos(file),
                                    hint=f"write one of {', '.join(VERDICTS)} in the verdict "
                                    "column")])
    return [Judgments(sheet_id=key.sheet_id, annotator=who,
                      judgments=[{"item": i, "verdict": v} for i, v in sorted(got.items())])
            for who, got in sorted(by_annotator.items())]


def load_any(path: Path, key: SheetKey, annotator: str | None = None,
             file: str | None = None) -> list[Judgments]:
    """A ``.csv`` or a JSON judgments file (anything else is read as JSON)."""
    if path.suffix.lower() == ".csv":
        return load_csv(path, key, annotator, file)
    got = load_json(path, key, file)
    if annotator and got.annotator != annotator:
        raise SpecErrors([SpecError(f"the file's annotator is {got.annotator!r}, not "
                                    f"{annotator!r}", pos=Pos(file or str(path)),
                                    field="annotator")])
    return [got]


def check_json(path: Path, key: SheetKey, file: str | None = None
               ) -> tuple[Judgments | None, list[str]]:
    """``load_json`` for callers without repro's error types (the scoring stage): the
    judgments, or None and every problem as one formatted line."""
    try:
        return load_json(path, key, file), []
    except SpecErrors as e:
        return None, [err.format() for err in e.errors]
