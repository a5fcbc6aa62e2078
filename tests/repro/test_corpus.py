"""The corpus of bad specs and broken data sets (tests/repro/corpus/cases/*), one case a folder.

Each case holds ``bad.yaml`` (the spec, written to ``specs/bad.yaml`` of a small workspace
next to copies of the shipped ``tiny-pretrain`` and ``tiny-sft-full``), ``files/`` (copied
into the workspace) and ``expect.json``: ``kind`` (``spec``: `repro validate` and `repro plan`
exit 2; ``stage``: validate passes and the prepare stage fails), ``where`` (the user's own
file and line the message must start with), ``contains`` and optional ``links`` (symlinks to
make, relative to their own folder). Every case also checks: no traceback, nothing written to
runs/ or a DVC cache, and nothing opened or listed outside the workspace (an audit hook
watches; the folder next to the workspace holds valid data and specs a breach would accept).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import pytest

from repro.cli import main

ROOT = Path(__file__).resolve().parents[2]
CASES = Path(__file__).parent / "corpus" / "cases"
SHIPPED = ("_base/tiny.yaml", "tiny-pretrain.yaml", "tiny-sft-full.yaml")
WATCHED = ("open", "os.listdir", "os.scandir")
_opened: list[str] | None = None


def _hook(event: str, args: tuple) -> None:
    if _opened is not None and event in WATCHED and args and isinstance(args[0], (str, Path)):
        _opened.append(os.path.abspath(str(args[0])))


sys.addaudithook(_hook)


def _outside(tmp: Path) -> Path:
    """A folder beside the workspace with things a breach would happily read."""
    out = tmp / "outside"
    (out / "model").mkdir(parents=True)
    rows = "".join(json.dumps({"instruction": f"{i}+2", "output": str(i + 2)}) + "\n"
                   for i in range(50))
    (out / "secret.jsonl").write_text(rows)
    (out / "base.yaml").write_text((ROOT / "specs" / "tiny-pretrain.yaml").read_text()
                                   .replace("extends: _base/tiny.yaml\n", ""))
    (out / "model" / "config.json").write_text("{}")
    return out


def _workspace(tmp: Path, case: Path, expect: dict) -> Path:
    ws = tmp / "ws"
    for rel in SHIPPED:
        (ws / "specs" / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / "specs" / rel, ws / "specs" / rel)
    for item in ("tasks",):  # files the shipped specs name besides specs/ (tiny-pretrain's task)
        if (ROOT / item).is_dir():
            shutil.copytree(ROOT / item, ws / item)
    if (case / "files").is_dir():
        shutil.copytree(case / "files", ws, dirs_exist_ok=True)
    for link, target in expect.get("links", {}).items():
        (ws / link).parent.mkdir(parents=True, exist_ok=True)
        (ws / link).symlink_to(target)
    shutil.copy(case / "bad.yaml", ws / "specs" / "bad.yaml")
    return ws


def _run(argv: list[str], capsys) -> tuple[int, str]:
    global _opened
    _opened = []
    try:
        rc = main(argv)
    finally:
        opened, _opened = _opened, None
    out = capsys.readouterr()
    _run.opened = opened
    return rc, out.out + out.err


def _read_outside(opened: list[str], ws: Path) -> list[str]:
    tmp = str(ws.parent.resolve())
    bad = [p for p in opened if p.startswith(tmp) and not p.startswith(str(ws.resolve()))
           and not p.startswith(str(ws))]
    return bad + [p for p in opened if p in ("/etc/passwd", "/etc/hostname")
                  or p.startswith(("/usr/lib/", "/srv/"))]


@pytest.mark.parametrize("name", sorted(p.name for p in CASES.iterdir()))
def test_case(name, tmp_path, capsys):
    case = CASES / name
    expect = json.loads((case / "expect.json").read_text())
    _outside(tmp_path)
    ws = _workspace(tmp_path, case, expect)
    if expect["kind"] == "spec":
        for verb in ("validate", "plan"):
            rc, text = _run(["-C", str(ws), verb, "bad"], capsys)
            assert rc == 2, text
            first = next(line for line in text.splitlines() if expect["where"] in line)
            assert first.startswith(expect["where"]), text
            assert expect["contains"] in first, text
            assert "Traceback" not in text
            assert _read_outside(_run.opened, ws) == [], text
    else:
        from repro.pipeline.compiler import spec_keys
        from repro.spec.workspace import load_workspace
        from runners.prepare import main as prepare

        rc, text = _run(["-C", str(ws), "validate", "bad"], capsys)
        assert rc == 0, text  # the problem is beyond validate's bounded sample
        rc, text = _run(["-C", str(ws), "compile"], capsys)
        assert rc == 0, text
        key = spec_keys(ws, load_workspace(ws))["bad"]
        global _opened
        _opened = []
        try:
            rc = prepare([key, "--root", str(ws)])
        finally:
            opened, _opened = _opened, None
        out = capsys.readouterr()
        text = out.out + out.err
        assert rc == 1, text
        assert text.startswith(f"error: {expect['where']}"), text
        assert expect["contains"] in text, text
        assert "Traceback" not in text
        assert _read_outside(opened, ws) == [], text
    assert not (ws / "runs").exists() or not any((ws / "runs").rglob("*"))
    assert not (ws / ".dvc" / "cache").exists()


def test_the_corpus_is_large_enough():
    kinds = [json.loads((p / "expect.json").read_text())["kind"] for p in CASES.iterdir()]
    assert len(kinds) >= 40 and kinds.count("stage") >= 3
