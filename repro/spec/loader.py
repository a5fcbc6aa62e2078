"""Load spec files: safe YAML with source positions, ``extends`` and ``--set`` overrides.

Every value keeps the file, line and column it came from (``Positions``), so that
validation errors can point at the exact place in the exact file, even through
``extends`` chains. Loading is defensive: files are size-capped, must be UTF-8,
may not use duplicate keys, Python object tags or alias bombs.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from repro.errors import Pos, SpecError

MAX_FILE_BYTES = 256 * 1024
MAX_NODES = 20_000  # after alias expansion; a 'billion laughs' document blows far past this
MAX_EXTENDS_DEPTH = 16
SAFE_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:map",
    "tag:yaml.org,2002:seq",
}

Path_ = tuple[str | int, ...]


@dataclass
class Loaded:
    """A spec document: plain data plus the position of every key in it."""

    data: dict[str, Any]
    positions: dict[Path_, Pos] = field(default_factory=dict)
    file: str = ""
    sources: list[str] = field(default_factory=list)  # the files merged, base first
    values: dict[Path_, Pos] = field(default_factory=dict)  # where each key's value starts
    # the spec_version the file declares, or inherits through 'extends' when it has none
    version: Any = None

    def pos(self, path: Path_, value: bool = False) -> Pos:
        """The position of ``path`` (its value's, if asked and known), else its deepest known prefix."""
        path = tuple(path)
        if value and path in self.values and path in self.positions:
            if self.values[path].file == self.positions[path].file:
                return self.values[path]
        for n in range(len(path), -1, -1):
            p = self.positions.get(path[:n])
            if p is not None:
                return p
        return Pos(self.file, 1, 1)


def _display(path: Path, root: Path | None) -> str:
    if root is not None:
        try:
            return str(path.resolve().relative_to(root.resolve()))
        except ValueError:
            pass
    return str(path)


def _mark_pos(file: str, mark: Any) -> Pos:
    if mark is None:
        return Pos(file, 1, 1)
    return Pos(file, mark.line + 1, mark.column + 1)


def _check_nodes(root_node: Any, file: str) -> None:
    """Refuse non-standard tags and documents that expand past MAX_NODES through aliases."""
    sizes: dict[int, int] = {}
    active: set[int] = set()

    def size(node: Any) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in active:
            raise SpecError("recursive YAML alias", pos=_mark_pos(file, node.start_mark))
        tag = str(node.tag)
        if tag not in SAFE_TAGS:
            raise SpecError(
                f"tag '{tag.replace('tag:yaml.org,2002:', '!!')}' is not allowed",
                pos=_mark_pos(file, node.start_mark),
                hint="specs hold plain data: mappings, lists, strings, numbers, booleans, null",
            )
        active.add(key)
        total = 1
        value = node.value
        if isinstance(value, list):
            for item in value:
                if isinstance(item, tuple):
                    total += size(item[0]) + size(item[1])
                else:
                    total += size(item)
                if total > MAX_NODES:
                    break
        active.discard(key)
        sizes[key] = total
        if total > MAX_NODES:
            raise SpecError(
                f"document expands to more than {MAX_NODES} nodes through aliases",
                pos=_mark_pos(file, node.start_mark),
                hint="this looks like an alias bomb; use 'extends' to reuse settings",
            )
        return total

    size(root_node)


def _read_text(path: Path, file: str) -> str:
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise SpecError("file not found", pos=Pos(file)) from None
    if path.is_dir():
        raise SpecError("is a directory, not a spec file", pos=Pos(file))
    if size > MAX_FILE_BYTES:
        raise SpecError(
            f"file is {size} bytes; specs are limited to {MAX_FILE_BYTES} bytes",
            pos=Pos(file),
            hint="data belongs in data files referenced by data.source.path",
        )
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw.count(b"\n", 0, e.start) + 1
        col = e.start - (raw.rfind(b"\n", 0, e.start) + 1) + 1
        raise SpecError(
            f"not valid UTF-8 (byte 0x{raw[e.start]:02x})",
            pos=Pos(file, line, col),
            hint="save the file as UTF-8",
        ) from None
    return text.removeprefix("\ufeff")


def _first_key_line(text: str, mark: Any, key: str) -> int | None:
    """Line (1-based) where ``key`` is first defined in the mapping that starts at ``mark``."""
    from ruamel.yaml import YAML

    try:
        root = YAML(typ="rt", pure=True).compose(text)
    except Exception:  # noqa: BLE001 - best effort, only for a nicer message
        return None
    todo = [root]
    while todo:
        node = todo.pop()
        if node is None:
            continue
        value = node.value
        if isinstance(value, list):
            if value and isinstance(value[0], tuple):
                if (node.start_mark.line, node.start_mark.column) == (mark.line, mark.column):
                    for k, _ in value:
                        if k.value == key:
                            return k.start_mark.line + 1
                todo.extend(v for pair in value for v in pair)
            else:
                todo.extend(value)
    return None


def _yaml_error(e: Any, file: str, text: str = "") -> SpecError:
    problem = (getattr(e, "problem", None) or str(e)).strip()
    mark = getattr(e, "problem_mark", None) or getattr(e, "context_mark", None)
    pos = _mark_pos(file, mark)
    if "\\t" in problem or "'\\t'" in problem or "\t" in problem:
        return SpecError(
            "tab character in indentation",
            pos=pos,
            hint="YAML indents with spaces only; replace the tab with spaces",
        )
    if type(e).__name__ == "DuplicateKeyError":
        key = problem.split('"')[1] if '"' in problem else "?"
        ctx = getattr(e, "context_mark", None)
        first = _first_key_line(text, ctx, key) if ctx is not None else None
        where = f" (first defined at line {first})" if first else ""
        return SpecError(f"duplicate key '{key}'{where}", pos=pos, hint="each key may appear once")
    return SpecError(f"YAML syntax error: {problem}", pos=pos)


def _to_plain(
    node: Any, file: str, path: Path_, positions: dict[Path_, Pos], values: dict[Path_, Pos]
) -> Any:
    """Convert ruamel's round-trip containers to plain Python, recording key positions."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    if isinstance(node, CommentedMap):
        out: dict[str, Any] = {}
        for k, v in node.items():
            line, col = node.lc.key(k)
            if not isinstance(k, str):
                raise SpecError(
                    f"key {k!r} must be a string", pos=Pos(file, line + 1, col + 1)
                )
            positions[path + (k,)] = Pos(file, line + 1, col + 1)
            try:
                vline, vcol = node.lc.value(k)
                values[path + (k,)] = Pos(file, vline + 1, vcol + 1)
            except (KeyError, TypeError, AttributeError):
                pass
            out[k] = _to_plain(v, file, path + (k,), positions, values)
        return out
    if isinstance(node, CommentedSeq):
        items = []
        for i, v in enumerate(node):
            try:
                line, col = node.lc.item(i)
                positions[path + (i,)] = Pos(file, line + 1, col + 1)
                values[path + (i,)] = Pos(file, line + 1, col + 1)
            except (KeyError, TypeError, AttributeError):
                pass
            items.append(_to_plain(v, file, path + (i,), positions, values))
        return items
    if isinstance(node, bool) or node is None:
        return node
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    if isinstance(node, str):
        return str(node)
    raise SpecError(f"unsupported YAML value {node!r}", pos=positions.get(path, Pos(file)))


def load_yaml_file(path: Path, root: Path | None = None) -> Loaded:
    """Read one YAML file safely, returning its mapping and the position of every key."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    file = _display(path, root)
    text = _read_text(path, file)
    yaml = YAML(typ="rt", pure=True)
    yaml.allow_duplicate_keys = False
    try:
        node = yaml.compose(text)
        if node is not None:
            _check_nodes(node, file)
        data = yaml.load(text)
    except YAMLError as e:
        raise _yaml_error(e, file, text) from None
    except RecursionError:
        raise SpecError("document nests too deeply", pos=Pos(file, 1, 1)) from None
    if data is None:
        raise SpecError("file is empty", pos=Pos(file, 1, 1), hint="a spec is a YAML mapping")
    positions: dict[Path_, Pos] = {(): Pos(file, 1, 1)}
    values: dict[Path_, Pos] = {}
    plain = _to_plain(data, file, (), positions, values)
    if not isinstance(plain, dict):
        raise SpecError(
            f"a spec must be a YAML mapping, not a {type(plain).__name__}", pos=Pos(file, 1, 1)
        )
    return Loaded(plain, positions, file, [file], values)


# mappings whose kind is picked by which key they have: a child naming a kind replaces the
# parent's mapping instead of merging into it ({path: x} over {builtin: y, size: n} is a path)
KIND_KEYS = {
    ("data", "source"): ("builtin", "path", "hub"),
    ("model", "base"): ("config", "spec", "path", "hub"),
}


def deep_merge(base: Any, child: Any, _at: tuple[str, ...] = ()) -> Any:
    """Merge ``child`` over ``base``: mappings merge key by key, anything else is replaced."""
    if isinstance(base, dict) and isinstance(child, dict):
        if _at in KIND_KEYS and any(k in child for k in KIND_KEYS[_at]):
            return copy.deepcopy(child)
        out = {k: copy.deepcopy(v) for k, v in base.items() if k not in child}
        for k, v in child.items():
            out[k] = deep_merge(base[k], v, (*_at, k)) if k in base else copy.deepcopy(v)
        return out
    return copy.deepcopy(child)


def load_spec_file(path: Path, root: Path | None = None, _chain: tuple[Path, ...] = ()) -> Loaded:
    """Load a spec, resolving its ``extends`` chain (deep merge; the child wins)."""
    resolved = path.resolve()
    if resolved in _chain:
        names = " -> ".join(_display(p, root) for p in (*_chain, resolved))
        raise SpecError(
            f"cycle in 'extends': {names}",
            pos=Pos(_display(_chain[-1], root), 1, 1),
            hint="a spec cannot extend itself, directly or through others",
        )
    if len(_chain) > MAX_EXTENDS_DEPTH:
        raise SpecError(f"'extends' chain deeper than {MAX_EXTENDS_DEPTH}", pos=Pos(str(path)))
    doc = load_yaml_file(path, root)
    # each file is upgraded from its own spec_version before merging: a v2 spec may extend
    # a v1 base (the merged document's version alone would leave the base's old fields).
    # A file that leaves spec_version out has its bases' (`repro upgrade` reads it the same)
    from repro.spec.migrate import upgrade

    parents = doc.data.pop("extends", None)
    doc.version = doc.data.get("spec_version")
    if parents is None:
        upgrade(doc.data)
        return doc
    ext_pos = doc.positions.get(("extends",), Pos(doc.file, 1, 1))
    if isinstance(parents, str):
        parents = [parents]
    if not isinstance(parents, list) or not all(isinstance(p, str) for p in parents):
        raise SpecError(
            "must be a file path or a list of file paths", pos=ext_pos, field="extends"
        )
    merged: dict[str, Any] = {}
    positions: dict[Path_, Pos] = {}
    values: dict[Path_, Pos] = {}
    sources: list[str] = []
    inherited = None
    for parent in parents:
        ppath = (path.parent / parent)
        if root is not None:
            from repro.contract.paths import PathRefused, confine

            try:
                confine(root, str(ppath.absolute()))
            except PathRefused as e:
                why = ("a symlink leads out of it" if "symlink" in e.message
                       else "an absolute path" if Path(parent).is_absolute()
                       else "it leaves the workspace through '..'")
                raise SpecError(
                    f"extends '{parent}', which is outside the workspace"
                    + (f" ({why})" if why else ""),
                    pos=doc.values.get(("extends",), ext_pos), field="extends",
                    hint="a spec extends other specs of this workspace, so that it rebuilds "
                    "from the repository alone; copy the base into specs/",
                ) from None
        if not ppath.is_file():
            raise SpecError(
                f"extends '{parent}', which does not exist",
                pos=ext_pos,
                field="extends",
                hint=f"paths are relative to {_display(path.parent, root) or '.'}",
            )
        base = load_spec_file(ppath, root, (*_chain, resolved))
        inherited = base.version if base.version is not None else inherited
        merged = deep_merge(merged, base.data)
        positions.update(base.positions)
        values.update(base.values)
        sources.extend(base.sources)
    if doc.version is None and inherited is not None:
        doc.data["spec_version"] = doc.version = inherited
    upgrade(doc.data)
    merged = deep_merge(merged, doc.data)
    # a key the child sets wins, and so do the positions of everything under it
    for key in doc.data:
        for table in (positions, values):
            for p in [p for p in table if p and p[0] == key]:
                del table[p]
    positions.update({p: v for p, v in doc.positions.items() if p != ("extends",)})
    values.update({p: v for p, v in doc.values.items() if p != ("extends",)})
    return Loaded(merged, positions, doc.file, [*sources, doc.file], values, doc.version)


def parse_override(text: str) -> tuple[list[str], Any]:
    """Parse ``a.b.c=value``; the value is read as a YAML scalar (so ``1e-3`` is a float)."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    if "=" not in text:
        raise SpecError(f"--set {text}: expected KEY=VALUE, e.g. train.optimizer.lr=1e-3")
    key, _, raw = text.partition("=")
    parts = key.strip().split(".")
    if not key.strip() or any(not p for p in parts):
        raise SpecError(f"--set {text}: '{key}' is not a dotted key such as train.epochs")
    try:
        value = YAML(typ="safe", pure=True).load(raw) if raw.strip() else None
    except YAMLError as e:
        raise SpecError(f"--set {text}: value is not valid YAML ({e})") from None
    return parts, value


def apply_overrides(doc: Loaded, overrides: list[str]) -> Loaded:
    """Apply ``--set`` overrides in order; each one's position is the command line."""
    data = copy.deepcopy(doc.data)
    positions = dict(doc.positions)
    values = dict(doc.values)
    for text in overrides:
        parts, value = parse_override(text)
        cur = data
        for i, part in enumerate(parts[:-1]):
            nxt = cur.get(part)
            if nxt is None:
                nxt = cur[part] = {}
            elif not isinstance(nxt, dict):
                raise SpecError(
                    f"--set {text}: '{'.'.join(parts[: i + 1])}' is not a mapping "
                    f"(it is {nxt!r})"
                )
            cur = nxt
        cur[parts[-1]] = value
        pos = Pos(f"--set {text}")
        key = tuple(parts)
        for table in (positions, values):
            for p in [p for p in table if p[: len(key)] == key]:
                del table[p]
        positions[key] = pos
    return Loaded(data, positions, doc.file, doc.sources, values, doc.version)
