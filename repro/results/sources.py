"""Where results are read from: a workspace, a git revision (+ its DVC cache), or MLflow.

A *source* returns the bytes of a file named by its workspace-relative path, so records that
point at other records (path + sha256) can be followed from the same place the result came
from. Standard library (and PyYAML for ``params.yaml`` and ``dvc.lock``): no MLflow, no DVC.
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from repro.contract import paths
from repro.contract.git import git
from repro.errors import ReproError


def sha(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def read_bytes(p: Path) -> bytes | None:
    try:
        return p.read_bytes()
    except OSError:
        return None


def _yaml(text: str) -> Any:
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load(text, Loader=loader)  # noqa: S506 - a safe loader


def dvc_cache_dir(root: Path) -> Path:
    """``.dvc/cache``, or the ``[cache] dir`` of ``.dvc/config(.local)``."""
    import configparser

    root = Path(root)
    cache = root / ".dvc" / "cache"
    for name in ("config", "config.local"):
        cfg = configparser.ConfigParser()
        try:
            cfg.read(root / ".dvc" / name, encoding="utf-8")
        except configparser.Error:
            continue
        if cfg.has_option("cache", "dir"):
            d = Path(cfg.get("cache", "dir"))
            cache = d if d.is_absolute() else (root / ".dvc" / d)
    return cache


def read_cached(cache: Path, md5: str) -> bytes | None:
    """A file of the DVC cache by its md5 (DVC 3 layout, then DVC 2's)."""
    for p in (cache / "files" / "md5" / md5[:2] / md5[2:], cache / md5[:2] / md5[2:]):
        try:
            return p.read_bytes()
        except OSError:
            continue
    return None


def json_object(raw: bytes | None) -> dict[str, Any] | None:
    """A metrics file's content: the JSON object, or None (missing, not JSON, not an object)."""
    if raw is None:
        return None
    try:
        value = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    return value if isinstance(value, dict) else None


class Source:
    """Where a result's files are read from; ``read`` returns bytes or None."""

    label = ""

    def read(self, rel: str, sha256: str | None = None) -> bytes | None:
        raise NotImplementedError

    def params(self) -> dict[str, Any] | None:
        return None

    def pointed(self, rel: str, sha256: str | None = None) -> tuple[bytes | None, bool]:
        """The bytes at ``rel`` and whether they still have the sha256 they were pointed at by."""
        raw = self.read(rel, sha256)
        if raw is None:
            return None, False
        return raw, sha256 is None or sha(raw) == sha256


class WorkspaceSource(Source):
    def __init__(self, root: Path):
        self.root = Path(root)
        self.label = str(root)

    def read(self, rel: str, sha256: str | None = None) -> bytes | None:
        try:
            return (self.root / rel).read_bytes()
        except OSError:
            return None

    def params(self) -> dict[str, Any] | None:
        try:
            return _yaml((self.root / paths.PARAMS_FILE).read_text(encoding="utf-8"))
        except OSError:
            return None


class GitRevSource(Source):
    """Files as of a git revision: tracked ones from git, DVC outs from the DVC cache."""

    def __init__(self, root: Path, rev: str):
        self.root, self.rev = Path(root), rev
        commit = git(root, "rev-parse", "--verify", "-q", f"{rev}^{{commit}}")
        if not commit:
            raise ReproError(f"{rev}: not a git revision of {root}")
        self.commit = commit.strip()
        self.label = f"{rev} ({self.commit[:10]})"
        lock = git(root, "show", f"{self.commit}:{paths.DVC_LOCK}")
        self.outs: dict[str, str] = {}
        if lock:
            for stage in (_yaml(lock) or {}).get("stages", {}).values():
                for out in stage.get("outs") or []:
                    if out.get("md5"):
                        self.outs[out["path"]] = out["md5"]
        self.cache = dvc_cache_dir(root)

    def _cached(self, md5: str) -> bytes | None:
        return read_cached(self.cache, md5)

    def read(self, rel: str, sha256: str | None = None) -> bytes | None:
        if rel in self.outs:
            return self._cached(self.outs[rel])
        for out, md5 in self.outs.items():  # a file inside a directory out
            if md5.endswith(".dir") and rel.startswith(out.rstrip("/") + "/"):
                listing = self._cached(md5)
                inner = rel[len(out.rstrip("/")) + 1:]
                try:
                    entries = json.loads(listing or b"[]")
                except ValueError:
                    return None
                for entry in entries:
                    if entry.get("relpath") == inner:
                        return self._cached(entry["md5"])
                return None
        text = git(self.root, "show", f"{self.commit}:{rel}")
        return text.encode("utf-8") if text is not None else None

    def params(self) -> dict[str, Any] | None:
        text = git(self.root, "show", f"{self.commit}:{paths.PARAMS_FILE}")
        return _yaml(text) if text else None


class MlflowSource(Source):
    """Artifacts of MLflow runs in a local SQLite store (read with sqlite3: no MLflow import)."""

    def __init__(self, db: Path):
        self.db = db
        self.label = f"mlflow {db}"
        self.con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)

    def artifact_dir(self, run_id: str) -> Path | None:
        row = self.con.execute("select artifact_uri from runs where run_uuid = ?",
                               (run_id,)).fetchone()
        if not row or not row[0]:
            return None
        uri = urlparse(row[0])
        return Path(unquote(uri.path)) if uri.scheme in ("file", "") else None

    def tags(self, run_id: str) -> dict[str, str]:
        rows = self.con.execute("select key, value from tags where run_uuid = ?", (run_id,))
        return dict(rows.fetchall())

    def children(self, parent: str) -> list[str]:
        rows = self.con.execute(
            "select r.run_uuid from runs r join tags t on t.run_uuid = r.run_uuid "
            "where t.key = 'mlflow.parentRunId' and t.value = ? and r.status = 'FINISHED' "
            "order by r.start_time desc", (parent,))
        return [r[0] for r in rows.fetchall()]

    def read(self, rel: str, sha256: str | None = None) -> bytes | None:
        name = Path(rel).name
        spec = Path(rel).parent.name
        rows = self.con.execute(
            "select r.run_uuid from runs r join tags t on t.run_uuid = r.run_uuid "
            "where t.key = 'repro.spec' and t.value = ? order by r.start_time desc", (spec,))
        for (run_id,) in rows.fetchall():
            d = self.artifact_dir(run_id)
            if d is None:
                continue
            try:
                raw = (d / name).read_bytes()
            except OSError:
                continue
            if sha256 is None or sha(raw) == sha256:
                return raw
        return None


# ----------------------------------------------------------------------------- references
#
# What a user may type to name a result (``repro diff A B``, ``repro lineage X``) or a whole
# revision (``repro diff REV [REV]``). Each parser below recognises one kind and returns a
# ``Ref`` (or None to let the next one try); ``parse_ref`` tries them in order. To add a kind
# (a sweep trial, say), add a parser to ``PARSERS`` and a loader for its kind in
# ``repro.results.result.LOADERS``.

RUN_ID_RE = re.compile(r"^[0-9a-f]{32}$")


@dataclass
class Ref:
    """A parsed reference: ``kind`` says which parser recognised it."""

    kind: str  # trial | run-dir | spec-file | rev-path | mlflow | spec | revision
    text: str  # what the user typed
    root: Path  # the workspace (or the clone holding a run directory)
    name: str = ""  # the spec the result belongs to (empty for a revision)
    rev: str = ""  # a git revision (rev-path, revision)
    rel: str = ""  # a workspace-relative directory (run-dir)


def workspace_root(start: Path) -> Path:
    """The nearest folder at or above ``start`` with specs/ (as repro.spec.workspace.find_root,
    without importing the schema: diff and lineage stay light)."""
    here = start.resolve()
    for folder in (here, *here.parents):
        if (folder / paths.SPECS_DIR).is_dir():
            return folder
    raise ReproError(f"no repro workspace at or above {here} (no '{paths.SPECS_DIR}/' folder)")


def _full(text: str, cwd: Path) -> Path:
    p = Path(text)
    return p if p.is_absolute() else cwd / p


def _run_dir(text: str, cwd: Path) -> Ref | None:
    full = _full(text, cwd)
    if full.is_file() and full.name.endswith((".lineage.json", ".run.json")):
        full = full.parent
    if not full.is_dir():
        return None
    d = full.resolve()
    if (d / paths.SPECS_DIR).is_dir() and not any((d / paths.lineage_file(s)).is_file()
                                                  for s in ("train", "evaluate")):
        return None  # a workspace, not a run directory
    runs = next((p for p in d.parents if p.name == paths.RUNS.name), None)
    root = runs.parent if runs is not None else d.parent  # runs/<spec>/study/trials/<N> too
    return Ref("run-dir", text, root, d.name, rel=d.relative_to(root).as_posix())


TRIAL_RE = re.compile(r"^(?P<spec>[A-Za-z0-9][A-Za-z0-9_-]*)#(?P<n>[0-9]+)$")


def _trial(text: str, cwd: Path) -> Ref | None:
    """``SPEC#N``: trial N of a sweep's study (its run directory under runs/SPEC/study/)."""
    m = TRIAL_RE.match(text)
    if not m:
        return None
    root = workspace_root(cwd)
    rel = paths.spec_dir(m["spec"]) / "study" / "trials" / f"{int(m['n']):04d}"
    if not (root / rel).is_dir():
        raise ReproError(f"{text}: no trial {m['n']} of a sweep '{m['spec']}' "
                         f"({rel} does not exist; build the sweep first)")
    return Ref("trial", text, root, text, rel=rel.as_posix())


def _spec_file(text: str, cwd: Path) -> Ref | None:
    full = _full(text, cwd)
    if not (full.is_file() and full.suffix in (".yaml", ".yml")):
        return None
    return Ref("spec-file", text, workspace_root(full.parent), full.stem)


def _rev_path(text: str, cwd: Path) -> Ref | None:
    if ":" not in text or RUN_ID_RE.match(text) or _full(text, cwd).exists():
        return None
    rev, _, rel = text.partition(":")
    name = Path(rel).stem if rel.endswith((".yaml", ".yml")) else Path(rel).name
    if not rev or not name:
        raise ReproError(f"{text}: expected REV:specs/<name>.yaml (or REV:runs/<name>)")
    return Ref("rev-path", text, workspace_root(cwd), name, rev=rev)


def _mlflow(text: str, cwd: Path) -> Ref | None:
    return Ref("mlflow", text, workspace_root(cwd), rev="") if RUN_ID_RE.match(text) else None


def _spec_name(text: str, cwd: Path) -> Ref | None:
    if "/" in text or text.startswith("."):
        return None
    root = workspace_root(cwd)
    if ((root / paths.spec_dir(text)).is_dir()
            or (root / paths.SPECS_DIR / f"{text}.yaml").is_file()):
        return Ref("spec", text, root, text)
    return None


def _revision(text: str, cwd: Path) -> Ref | None:
    root = workspace_root(cwd)
    commit = git(root, "rev-parse", "--verify", "-q", f"{text}^{{commit}}")
    return Ref("revision", text, root, rev=commit.strip()) if commit else None


PARSERS: list[Callable[[str, Path], Ref | None]] = [
    _trial, _run_dir, _spec_file, _rev_path, _mlflow, _spec_name, _revision,
]


def parse_ref(text: str, cwd: Path | None = None) -> Ref:
    """What ``text`` names: the first parser of ``PARSERS`` that recognises it."""
    cwd = Path(cwd or Path.cwd())
    for parser in PARSERS:
        ref = parser(text, cwd)
        if ref is not None:
            return ref
    full = _full(text, cwd)
    if full.is_dir():
        raise ReproError(f"{text}: no lineage records in this directory")
    if full.is_file():
        raise ReproError(f"{text}: not a spec, run directory or lineage record")
    raise ReproError(
        f"{text}: not a spec, run directory, REV:path, MLflow run id or git revision "
        f"(specs have results under {paths.RUNS}/<name>/)"
    )
