"""Find the workspace, discover its specs and load them (parse -> validate -> check)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from repro.contract.paths import SPECS_DIR
from repro.errors import Pos, ReproError, SpecError, SpecErrors
from repro.spec.loader import Loaded, apply_overrides, load_spec_file
from repro.spec.schema import NAME_PATTERN, Spec


@dataclass
class Entry:
    """One spec file and what became of it."""

    name: str
    file: str  # relative to the workspace root
    doc: Loaded | None = None
    spec: Spec | None = None
    errors: list[SpecError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.spec is not None and not self.errors


def find_root(start: Path | None = None) -> Path:
    """The nearest folder at or above ``start`` with a ``specs/`` folder."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / SPECS_DIR).is_dir():
            return folder
    raise ReproError(
        f"no repro workspace at or above {here} (no '{SPECS_DIR}/' folder); "
        "run 'repro init' to create one"
    )


def spec_files(root: Path) -> list[Path]:
    """Every spec under specs/, skipping files and folders whose names start with _ or ."""
    base = root / SPECS_DIR
    out = []
    for path in sorted(base.rglob("*")):
        if path.suffix not in (".yaml", ".yml") or not path.is_file():
            continue
        rel = path.relative_to(base)
        if any(part.startswith(("_", ".")) for part in rel.parts):
            continue
        out.append(path)
    return out


def rel(root: Path, path: Path) -> str:
    try:
        return str(path.resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path)


def load_entry(root: Path, path: Path, overrides: list[str] | tuple[str, ...] = ()) -> Entry:
    from repro.spec.validate import validate_doc

    entry = Entry(name=path.stem, file=rel(root, path))
    try:
        doc = load_spec_file(path, root)
        if overrides:
            from repro.spec.migrate import upgrade
            from repro.spec.validate import check_override

            upgrade(doc.data)
            for text in overrides:
                check_override(doc.data, text)
                doc = apply_overrides(doc, [text])
        entry.doc = doc
        entry.spec = validate_doc(doc)
    except SpecErrors as e:
        entry.errors.extend(e.errors)
    except SpecError as e:
        if e.pos is None:
            e.pos = Pos(entry.file)
        entry.errors.append(e)
    return entry


def load_workspace(
    root: Path,
    overrides: list[str] | tuple[str, ...] = (),
    extra: list[Path] | tuple[Path, ...] = (),
    wanted: list[str] | tuple[str, ...] = (),
) -> list[Entry]:
    """Load and check every spec of the workspace (plus ``extra`` files given by path).

    ``overrides`` (``--set``) apply to the specs named in ``wanted`` only, never to the
    others (a base spec, say): naming none with an override is a usage error."""
    from repro.spec.checks import check_all

    paths = spec_files(root)
    known = {p.resolve() for p in paths}
    paths += [p for p in extra if p.resolve() not in known]
    if overrides and not wanted:
        raise ReproError(
            "--set applies only to the specs named on the command line; name one, e.g. "
            f"'repro validate my-spec --set {overrides[0]}'")
    named = {Path(w).resolve() for w in wanted if Path(w).suffix in (".yaml", ".yml")}
    targets = {p.resolve() for p in paths if p.stem in wanted or p.resolve() in named}
    entries = [load_entry(root, p, overrides if p.resolve() in targets else ())
               for p in paths]
    check_all(root, entries)
    return entries


def select(entries: list[Entry], root: Path, wanted: list[str]) -> list[Entry]:
    """Pick entries by spec name or file path; an unknown one is a user error."""
    if not wanted:
        return entries
    by_name = {e.name: e for e in entries}
    by_file = {(root / e.file).resolve(): e for e in entries}
    out: list[Entry] = []
    for w in wanted:
        entry = by_name.get(w) or by_file.get(Path(w).resolve())
        if entry is None:
            from repro.spec.validate import suggest

            guess = suggest(w, list(by_name))
            hint = f" (did you mean '{guess}'?)" if guess else ""
            raise ReproError(f"no spec named '{w}'{hint}; specs live in {SPECS_DIR}/*.yaml")
        if entry not in out:
            out.append(entry)
    return out


def valid_name(name: str) -> bool:
    return re.match(NAME_PATTERN, name) is not None


def upgrade_targets(root: Path, wanted: list[str]) -> list[Path]:
    """Every YAML file under specs/ (bases too), or the named specs and their extends chains."""
    base = root / SPECS_DIR
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


def _inherited_version(root: Path, path: Path) -> int | None:
    """The spec_version a file without one gets from its ``extends`` chain (as loaded)."""
    try:
        return load_spec_file(path, root).version
    except ReproError:
        return None


def upgrade_specs(root: Path, wanted: list[str], check: bool = False) -> list[dict]:
    """``repro upgrade``: rewrite (or with ``check``, only inspect) the spec files;
    ``[{"file", "changes"}]`` per file."""
    from repro.spec.migrate import upgrade_file, upgrade_text

    report = []
    targets = upgrade_targets(root, wanted)
    versions = {path: _inherited_version(root, path) for path in targets}  # before any write
    for path in targets:
        inherited = versions[path]
        if check:
            _, changes = upgrade_text(path.read_text(encoding="utf-8"), inherited)
        else:
            changes = upgrade_file(path, inherited)
        report.append({"file": rel(root, path), "changes": changes})
    return report
