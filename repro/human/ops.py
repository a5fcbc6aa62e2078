"""``repro human export`` and ``repro human import``: the operations, callable from Python.

Export asks ``python -m runners.human_outputs`` for every compared spec's answers (the
control plane never loads a model), builds the sheet and writes ``sheet.html``,
``sheet.csv`` and ``key.json`` into the spec's ``human_eval.sheet`` folder. Import checks
a judgments file (the sheet's JSON or the filled-in CSV) against ``key.json`` and writes
``judgments/<annotator>.json``; a bad file writes nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from repro.contract import paths
from repro.contract.fsio import write_text_atomic
from repro.contract.records import RecordError
from repro.contract.records.human import (
    JUDGMENTS_DIR,
    KEY_FILE,
    SHEET_CSV,
    SHEET_HTML,
    SheetKey,
)
from repro.errors import ReproError


def _section(entries: list, name: str):
    entry = next((e for e in entries if e.name == name), None)
    if entry is None:
        raise ReproError(f"no spec named '{name}' in specs/")
    human = entry.spec.human_eval
    if human is None:
        raise ReproError(f"{entry.file}: spec '{name}' has no human_eval section (add "
                         "human_eval: {against: [OTHER-SPEC], sheet: human/NAME}; see "
                         "docs/human-eval.md)")
    return entry, human


def read_key(root: Path, sheet: str) -> SheetKey:
    p = root / sheet / KEY_FILE
    if not p.is_file():
        raise ReproError(f"{sheet}/{KEY_FILE}: not found (make the sheet first: "
                         "repro human export SPEC)")
    try:
        return SheetKey.read(p)
    except RecordError as e:
        raise ReproError(str(e)) from None


def write_sheet(folder: Path, sheet) -> None:
    """Write a built sheet: the page, the CSV, then the key (last: a sheet without its key
    is never left behind as the current one). Each file is written atomically."""
    write_text_atomic(folder / SHEET_HTML, sheet.html)
    write_text_atomic(folder / SHEET_CSV, sheet.csv)
    sheet.key.write(folder / KEY_FILE)


def export(root: Path, entries: list, name: str, force: bool = False) -> dict[str, Any]:
    """Write the blind sheet of spec ``name``; returns where it went and what it holds."""
    from repro.human.sheet import build
    from repro.pipeline.compiler import params_text
    from repro.pipeline.run import run_runner

    entry, human = _section(entries, name)
    folder = root / human.sheet
    judged = sorted((folder / JUDGMENTS_DIR).glob("*.json")) if folder.is_dir() else []
    missing = [s for s in [name, *human.against] if not (root / paths.model_dir(s)).is_dir()]
    if missing:
        raise ReproError(f"no trained model for {', '.join(missing)}: run "
                         f"'repro run {' '.join(missing)}' first")
    got = run_runner(root, "runners.human_outputs", [name, "--root", str(root)],
                     params_yaml=params_text(root, entries))
    sheet = build(name, human.seed, human.split, got["prompts"], got["outputs"], got["models"])
    if judged and not force:
        old = read_key(root, human.sheet)
        if old.sheet_id != sheet.key.sheet_id:
            raise ReproError(
                f"{human.sheet}/{JUDGMENTS_DIR}/ holds {len(judged)} judgments file(s) of sheet "
                f"{old.sheet_id}, and the answers changed (new sheet {sheet.key.sheet_id}); move "
                "them away, or pass --force to write the new sheet beside them")
    write_sheet(folder, sheet)
    return {"spec": name, "sheet_id": sheet.key.sheet_id, "items": len(sheet.key.items),
            "systems": [s.spec for s in sheet.key.systems],
            "prompts": len(got["prompts"]),
            "html": f"{human.sheet}/{SHEET_HTML}", "csv": f"{human.sheet}/{SHEET_CSV}",
            "key": f"{human.sheet}/{KEY_FILE}"}


def import_judgments(root: Path, entries: list, name: str, files: list[str],
                     annotator: str | None = None, replace: bool = False) -> list[dict[str, Any]]:
    """Check every file, then write ``judgments/<annotator>.json`` for each annotator in them.

    All files are checked before any is written; an annotator who already has a file is
    refused unless ``replace``."""
    from repro.errors import SpecErrors
    from repro.spec.judgments import load_any

    _, human = _section(entries, name)
    key = read_key(root, human.sheet)
    loaded, errors = [], []
    for f in files:
        path = Path(f)
        try:
            loaded += [(f, j) for j in load_any(path, key, annotator, f)]
        except SpecErrors as e:
            errors += e.errors
    if errors:
        raise SpecErrors(errors)
    out_dir = root / human.sheet / JUDGMENTS_DIR
    seen: dict[str, str] = {}
    for f, j in loaded:
        if j.annotator in seen:
            raise ReproError(f"{f}: annotator '{j.annotator}' is also in {seen[j.annotator]}; "
                             "import one file per annotator")
        seen[j.annotator] = f
        target = out_dir / f"{j.annotator}.json"
        if target.exists() and not replace:
            raise ReproError(f"{human.sheet}/{JUDGMENTS_DIR}/{target.name} already exists; "
                             "pass --replace to overwrite it (nothing was written)")
    done = []
    for f, j in loaded:
        j.write(out_dir / f"{j.annotator}.json")
        done.append({"from": f, "annotator": j.annotator, "judgments": len(j.judgments),
                     "of": len(key.items),
                     "to": f"{human.sheet}/{JUDGMENTS_DIR}/{j.annotator}.json"})
    return done
