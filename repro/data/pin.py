"""Pinned data hashes: ``repro pin`` writes them, ``repro run`` checks them before any stage.

Writing a pin edits the spec file in place and changes nothing but the hash: the file
is parsed with ruamel.yaml's round-trip composer, which knows where every node starts
and ends, and only the ``hash`` value (or one new ``hash:`` line) is spliced into the
original text. (Dumping the round-trip tree back would keep comments but re-wrap long
flow mappings and respace them: the shipped specs would not survive byte for byte.)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from repro.contract.fsio import write_text_atomic
from repro.contract.hashing import diff_entries
from repro.contract.paths import DATA_MANIFEST, DATA_ROOT
from repro.contract.records import Manifest, RecordError
from repro.data.rawhash import DigestCache, SourceHash, source_hash
from repro.errors import ReproError
from repro.spec.workspace import Entry

# ----------------------------------------------------------------------------- the spec


def resolved_data(entry: Entry) -> tuple[dict[str, Any], int]:
    """The spec's data section (after ``extends``) and the seed its data uses.

    Pinning needs a valid data section only: cross-field problems elsewhere do not stop it,
    and a malformed pin (``data.hash: md5:...``) is replaced, the spec being validated
    again without it.
    """
    import copy

    from repro.spec.validate import validate_doc

    spec = entry.spec
    if spec is None:
        doc = entry.doc
        if doc is None or not isinstance(doc.data.get("data"), dict):
            raise _errors(entry)
        fixed = copy.copy(doc)
        fixed.data = copy.deepcopy(doc.data)
        fixed.data["data"].pop("hash", None)
        try:
            spec = validate_doc(fixed)
        except ReproError:
            raise _errors(entry) from None
    data = spec.data.model_dump(mode="json")
    seed = data["seed"] if data["seed"] is not None else spec.seed
    return data, seed


def _errors(entry: Entry) -> ReproError:
    from repro.errors import SpecErrors

    return SpecErrors(entry.errors) if entry.errors else ReproError(f"{entry.file}: not a valid spec")


# ----------------------------------------------------------------------------- the edit


def _compose(text: str, file: str) -> Any:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    try:
        return YAML(typ="rt", pure=True).compose(text)
    except YAMLError as e:
        raise ReproError(f"{file}: not valid YAML ({getattr(e, 'problem', e)})") from None


def _pairs(node: Any) -> list[tuple[Any, Any]]:
    return list(node.value) if type(node).__name__ == "MappingNode" else []


def _find(node: Any, key: str) -> tuple[Any, Any] | None:
    for k, v in _pairs(node):
        if getattr(k, "value", None) == key:
            return k, v
    return None


def _line_end(text: str, index: int) -> int:
    """Index just past the newline ending the line that holds ``index`` (or the text end)."""
    n = text.find("\n", index)
    return len(text) if n < 0 else n + 1


def _is_mapping(node: Any) -> bool:
    return type(node).__name__ == "MappingNode"


def _is_empty(node: Any) -> bool:
    return type(node).__name__ == "ScalarNode" and node.tag.endswith(":null")


def _block_entry_end(text: str, key: Any) -> int:
    """Where the block-mapping entry starting at ``key`` ends: the start of the line after
    its last content line (comments and blank lines that follow belong to what is next)."""
    col = key.start_mark.column
    lines = text[key.start_mark.index:].split("\n")
    pos = _line_end(text, key.start_mark.index)
    end = pos
    for line in lines[1:]:
        stripped = line.strip()
        indent = len(line) - len(line.lstrip(" "))
        if stripped and indent > col:  # the entry's own content (or a comment inside it)
            end = pos + len(line) + 1
        elif stripped and not stripped.startswith("#"):
            break  # the next key of this mapping, or of one further out
        pos += len(line) + 1
    return min(end, len(text))


def set_hash(text: str, value: str, file: str = "spec") -> tuple[str, str]:
    """``text`` with ``data.hash`` set to ``value``; returns (new text, what was done)."""
    root = _compose(text, file)
    if root is None or not _is_mapping(root):
        raise ReproError(f"{file}: a spec must be a YAML mapping")
    nl = "\r\n" if "\r\n" in text else "\n"
    if text.endswith("\n"):
        return _splice(text, value, file, root, nl)
    # no newline at the end: lend one for the splice (appending moves no node), then take it back
    out, what = _splice(text + nl, value, file, root, nl)
    return out.removesuffix(nl), what


def _splice(text: str, value: str, file: str, root: Any, nl: str) -> tuple[str, str]:
    data = _find(root, "data")
    if data is None:
        if root.flow_style:
            raise ReproError(f"{file}: cannot add a data section to a flow-style spec; "
                             "add 'data: {hash: ...}' by hand")
        return text + f"data:{nl}  hash: {value}{nl}", "added a data section with the hash"
    dkey, dval = data
    if dval.start_mark.index < dkey.end_mark.index:
        raise ReproError(f"{file}:{dkey.start_mark.line + 1}: data: is a YAML alias; "
                         "write the pin by hand where the anchor is defined")
    if _is_empty(dval):  # `data:` with nothing under it
        colon = text.index(":", dkey.end_mark.index) + 1
        if dval.end_mark.index > dval.start_mark.index:  # an explicit `null` or `~`
            a, b = dval.start_mark.index, dval.end_mark.index
            return text[:a] + f"{{hash: {value}}}" + text[b:], "added the hash"
        return text[:colon] + f" {{hash: {value}}}" + text[colon:], "added the hash"
    if not _is_mapping(dval):
        line = dkey.start_mark.line + 1
        raise ReproError(f"{file}:{line}: data: must be a mapping")
    current = _find(dval, "hash")
    if current is not None:
        hkey, hval = current
        if hval.start_mark.index < hkey.end_mark.index:
            raise ReproError(f"{file}:{hkey.start_mark.line + 1}: data.hash: is a YAML alias; "
                             "write the pin by hand")
        if _is_mapping(hval) or type(hval).__name__ == "SequenceNode":
            raise ReproError(f"{file}:{hkey.start_mark.line + 1}: data.hash: must be a string")
        if _is_empty(hval) and hval.start_mark.index == hval.end_mark.index:
            colon = text.index(":", hkey.end_mark.index) + 1
            return text[:colon] + f" {value}" + text[colon:], "replaced the hash"
        a, b = hval.start_mark.index, hval.end_mark.index
        return text[:a] + value + text[b:], "replaced the hash"
    if dval.flow_style:
        close = dval.end_mark.index - 1
        if text[close] != "}":
            raise ReproError(f"{file}:{dkey.start_mark.line + 1}: data: cannot find the closing "
                             "'}' of the flow mapping")
        inner = text[dval.start_mark.index + 1:close]
        at = dval.start_mark.index + 1 + len(inner.rstrip())
        sep = ", " if _pairs(dval) else ""
        return text[:at] + f"{sep}hash: {value}" + text[at:], "added the hash"
    # block mapping: a new line after `format` (or `source`, or the first key)
    pairs = _pairs(dval)
    after = _find(dval, "format") or _find(dval, "source") or pairs[0]
    at = _block_entry_end(text, after[0])
    indent = " " * after[0].start_mark.column
    return text[:at] + f"{indent}hash: {value}{nl}" + text[at:], "added the hash"


def _check_written(text: str, file: str, value: str) -> None:
    """The edited text must parse and say exactly ``data.hash: value`` (belt and braces)."""
    from ruamel.yaml import YAML

    try:
        doc = YAML(typ="safe", pure=True).load(text)
        got = doc["data"]["hash"]
    except Exception as e:  # noqa: BLE001
        raise ReproError(f"{file}: internal error: the edited spec does not parse ({e}); "
                         "nothing was written") from None
    if got != value:
        raise ReproError(f"{file}: internal error: the edited spec reads data.hash={got!r}; "
                         "nothing was written")


# ----------------------------------------------------------------------------- pin


@dataclass
class PinResult:
    spec: str
    file: str
    source: str
    hash: str
    previous: str | None  # the pin in effect before (from this file or a base)
    status: str  # pinned | updated | unchanged | ok | mismatch
    note: str = ""
    files: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"spec": self.spec, "file": self.file, "source": self.source, "hash": self.hash,
                "previous": self.previous, "status": self.status, "note": self.note,
                "files": self.files}


def pin_entry(root: Path, entry: Entry, check: bool = False,
              cache: DigestCache | None = None) -> PinResult:
    data, seed = resolved_data(entry)
    where = f"{entry.file}: data.source"
    current = source_hash(root, data["source"], seed, cache, where=where)
    previous = data.get("hash")
    res = PinResult(entry.name, entry.file, current.label, current.hash, previous, "",
                    files=[f.as_dict() for f in current.files])
    if check:
        res.status = "ok" if previous == current.hash else "mismatch"
        if previous is None:
            res.note = "no pin yet"
        return res
    path = root / entry.file
    raw = path.read_bytes().decode("utf-8")  # no newline translation: CRLF files stay CRLF
    bom = "\ufeff" if raw.startswith("\ufeff") else ""
    text = raw.removeprefix(bom)
    if previous == current.hash:
        res.status = "unchanged"
        return res
    own = _find(_compose(text, entry.file), "data")
    new_text, what = set_hash(text, current.hash, entry.file)
    _check_written(new_text, entry.file, current.hash)
    write_text_atomic(path, bom + new_text)
    res.status = "pinned" if previous is None else "updated"
    notes = [what]
    bases = entry.doc.sources[:-1] if entry.doc else []
    if bases and (own is None or _find(own[1], "source") is None):
        notes.append(f"the data source comes from {', '.join(bases)}; the pin is written "
                     f"in {entry.file}, which extends it")
    res.note = "; ".join(notes)
    return res


# ----------------------------------------------------------------------------- check


@dataclass
class Mismatch:
    spec: str
    file: str
    where: str  # file:line:col of the pin
    pinned: str
    actual: SourceHash
    changes: list[str]
    compared_with: str | None  # the manifest the file listing came from

    def format(self) -> str:
        lines = [
            f"{self.where}: data.hash: the data of spec '{self.spec}' changed since it was pinned",
            f"  pinned  {self.pinned}",
            f"  actual  {self.actual.hash}   ({self.actual.label})",
        ]
        if self.changes:
            lines.append(f"  what differs (against {self.compared_with}):")
            lines += [f"    {c}" for c in self.changes]
        else:
            lines.append("  no earlier build of the pinned data to compare file by file; now:")
            lines += [f"    {f.path} ({f.size:,} bytes)" for f in self.actual.files[:20]]
            if len(self.actual.files) > 20:
                lines.append(f"    ... {len(self.actual.files) - 20} more files")
        lines.append(f"  if the change is intended, accept it with: repro pin {self.file}")
        return "\n".join(lines)

    def as_dict(self) -> dict[str, Any]:
        return {"spec": self.spec, "file": self.file, "pinned": self.pinned,
                "actual": self.actual.hash, "changes": self.changes,
                "compared_with": self.compared_with}


def manifests(root: Path) -> list[tuple[Path, Manifest]]:
    """Every prepared data set's manifest that can be read, newest first."""
    out = []
    base = root / DATA_ROOT
    if not base.is_dir():
        return []
    for m in base.glob(f"*/{DATA_MANIFEST}"):
        try:
            out.append((m.stat().st_mtime_ns, m, Manifest.read(m)))
        except (OSError, RecordError):
            continue
    return [(m, d) for _, m, d in sorted(out, key=lambda t: -t[0])]


def pinned_listing(root: Path, pinned: str, rel_source: str) -> tuple[list[dict], str] | None:
    """``raw_files`` of an earlier build of exactly the pinned data, if one is on disk."""
    found = []
    for m, d in manifests(root):
        if d.raw_hash == pinned:
            src = d.dataset.get("source") or {}
            files = [f.model_dump() for f in d.raw_files]
            found.append((src.get("path") != rel_source, m, files))
    if not found:
        return None
    found.sort(key=lambda t: t[0])  # same source path first, then newest
    _, m, files = found[0]
    return files, str(m.relative_to(root))


def with_upstream(entries: list[Entry], selected: list[Entry]) -> list[Entry]:
    """``selected`` plus every spec they build on (their stages run too)."""
    from repro.spec.schema import SpecBase

    by_name = {e.name: e for e in entries}
    out: list[Entry] = []
    todo = list(selected)
    while todo:
        e = todo.pop(0)
        if e in out:
            continue
        out.append(e)
        base = e.spec.model.base if e.spec else None
        if isinstance(base, SpecBase) and base.spec in by_name:
            todo.append(by_name[base.spec])
    return out


def check_pins(root: Path, entries: list[Entry]) -> list[Mismatch]:
    """Hash every pinned local source of ``entries``; the pins that do not match."""
    cache = DigestCache(root)
    bad: list[Mismatch] = []
    seen: dict[tuple[str, str], SourceHash] = {}
    try:
        for e in entries:
            if e.spec is None or e.spec.data.hash is None:
                continue
            data = e.spec.data.model_dump(mode="json")
            source = data["source"]
            if "path" not in source:
                continue  # generated data: the prepare stage checks the pin
            pinned = data["hash"]
            key = (source["path"], pinned)
            current = seen.get(key) or source_hash(
                root, source, 0, cache, where=f"{e.file}: data.source")
            seen[key] = current
            if current.hash == pinned:
                continue
            listing = pinned_listing(root, pinned, source["path"])
            changes, against = [], None
            if listing is not None:
                old, against = listing
                changes = diff_entries(old, [f.as_dict() for f in current.files])
            pos = e.doc.pos(("data", "hash"), value=True) if e.doc else None
            bad.append(Mismatch(e.name, e.file, str(pos) if pos else e.file, pinned, current,
                                changes, against))
    finally:
        cache.save()
    return bad


# ----------------------------------------------------------------------------- operations


def pin_specs(root: Path, selected: list[Entry], check: bool = False) -> list[PinResult]:
    """``repro pin``: pin (or with ``check``, compare) each spec's raw-data hash."""
    cache = DigestCache(root)
    try:
        return [pin_entry(root, e, check=check, cache=cache) for e in selected]
    finally:
        cache.save()


class PinsChanged(ReproError):
    """``repro run`` stops before DVC starts: a pinned local data source changed."""

    def __init__(self, mismatches: list[Mismatch]) -> None:
        self.mismatches = mismatches
        super().__init__(f"pinned data changed for {len(mismatches)} spec(s) "
                         f"({', '.join(m.spec for m in mismatches)}); no stage was run")


def require_pins(root: Path, entries: list[Entry], selected: list[Entry]) -> None:
    """Raise PinsChanged if a pinned local source of ``selected`` (or a base) changed."""
    bad = check_pins(root, with_upstream(entries, selected))
    if bad:
        raise PinsChanged(bad)
