"""Where results are read from: a workspace, a git revision (+ its DVC cache), or MLflow.

A *source* returns the bytes of a file named by its workspace-relative path, so records that
point at other records (path + sha256) can be followed from the same place the result came
from. Standard library (and PyYAML for ``params.yaml`` and ``dvc.lock``): no MLflow, no DVC.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
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
        self.cache = self._cache_dir()

    def _cache_dir(self) -> Path:
        """``.dvc/cache``, or the ``[cache] dir`` of ``.dvc/config(.local)``."""
        import configparser

        cache = self.root / ".dvc" / "cache"
        for name in ("config", "config.local"):
            cfg = configparser.ConfigParser()
            try:
                cfg.read(self.root / ".dvc" / name, encoding="utf-8")
            except configparser.Error:
                continue
            if cfg.has_option("cache", "dir"):
                d = Path(cfg.get("cache", "dir"))
                cache = d if d.is_absolute() else (self.root / ".dvc" / d)
        return cache

    def _cached(self, md5: str) -> bytes | None:
        for p in (self.cache / "files" / "md5" / md5[:2] / md5[2:], self.cache / md5[:2] / md5[2:]):
            try:
                return p.read_bytes()
            except OSError:
                continue
        return None

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
