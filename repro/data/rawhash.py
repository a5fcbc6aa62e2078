"""The raw-data hash of a spec's ``data.source``, as ``repro pin`` writes it and ``repro run`` checks it.

- a local file or folder: ``repro.contract.hashing.hash_path`` (per-file digests cached by
  path, size and mtime in ``.repro/hash-cache.json``, so an unchanged big file is not
  read twice);
- a built-in generator: BLAKE3 of the generated rows as canonical JSON lines, as the
  prepare stage computes it, asked of ``python -m runners.data.sources builtin-hash``
  (the generators are data-plane code: the control plane never imports them);
- a hub data set: only from the local Hugging Face cache (never the network): the
  snapshot folder of the pinned revision, hashed like a local folder.

Nothing heavy is imported at module level; huggingface_hub is imported only when a
spec needs it.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from repro.contract.hashing import FileEntry, hash_file, hash_path
from repro.contract.paths import PathRefused
from repro.contract.sources import SourceUnavailable, hub_folder, local_path, source_label
from repro.errors import ReproError

CACHE_DIR = ".repro"
CACHE_FILE = "hash-cache.json"
CACHE_VERSION = 1


class DigestCache:
    """File digests keyed by absolute path, valid while (size, mtime_ns) are unchanged."""

    def __init__(self, root: Path | None) -> None:
        self.path = root / CACHE_DIR / CACHE_FILE if root is not None else None
        self.entries: dict[str, dict[str, Any]] = {}
        self.hits = self.misses = 0
        self._dirty = False
        if self.path is not None:
            try:
                data = json.loads(self.path.read_text(encoding="utf-8"))
                if data.get("version") == CACHE_VERSION and isinstance(data.get("files"), dict):
                    self.entries = data["files"]
            except (OSError, ValueError, AttributeError):
                self.entries = {}  # a missing or damaged cache is simply rebuilt

    def file_hash(self, path: Path) -> str:
        key = str(path.resolve())
        st = path.stat()
        hit = self.entries.get(key)
        if (isinstance(hit, dict) and hit.get("size") == st.st_size
                and hit.get("mtime_ns") == st.st_mtime_ns and isinstance(hit.get("hash"), str)):
            self.hits += 1
            return hit["hash"]
        self.misses += 1
        digest = hash_file(path)
        self.entries[key] = {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "hash": digest}
        self._dirty = True
        return digest

    def save(self) -> None:
        """Write the cache back (atomically), dropping files that no longer exist."""
        if self.path is None or not self._dirty:
            return
        files = {k: v for k, v in self.entries.items() if os.path.exists(k)}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".hash-cache.")
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump({"version": CACHE_VERSION, "files": files}, f, indent=1, sort_keys=True)
            os.replace(tmp, self.path)
        except OSError:
            pass  # a cache we cannot write only costs speed next time
        self._dirty = False


@dataclass
class SourceHash:
    kind: str  # builtin | path | hub
    label: str  # e.g. path:data/x.jsonl
    hash: str
    files: list[FileEntry] = field(default_factory=list)
    location: Path | None = None  # the file or folder that was hashed


def _builtin_hash(root: Path, name: str, size: int, seed: int) -> str:
    """BLAKE3 of the generated rows as canonical JSON lines (the prepare stage's raw hash)."""
    from repro.pipeline.run import run_runner

    args = ["builtin-hash", name, str(size), str(seed)]
    return run_runner(root, "runners.data.sources", args)["hash"]


def source_hash(
    root: Path, source: dict[str, Any], seed: int, cache: DigestCache | None = None,
    where: str = "data.source",
) -> SourceHash:
    """The current raw-data hash of ``source`` (a resolved ``data.source`` mapping)."""
    file_hash = cache.file_hash if cache is not None else hash_file
    if "path" in source:
        rel = source["path"]
        try:
            full = local_path(root, rel)
        except PathRefused as e:
            raise ReproError(f"{where}.path: {e.message} ({e.hint})") from None
        if not full.exists():
            raise ReproError(f"{where}.path: {rel} does not exist (relative to {root})")
        if full.is_dir() and not any(full.iterdir()):
            raise ReproError(f"{where}.path: {rel} is an empty folder")
        digest, files = hash_path(full, file_hash)
        return SourceHash("path", source_label(source), digest, files, full)
    if "builtin" in source:
        name, size = source["builtin"], source["size"]  # a resolved data.source
        return SourceHash("builtin", source_label(source), _builtin_hash(root, name, size, seed))
    if "hub" in source:
        hub, rev = source["hub"], source.get("revision")
        at = f"@{rev}" if rev else ""
        try:
            folder = hub_folder(source, local_only=True)
        except SourceUnavailable as e:
            raise ReproError(
                f"{where}: hub data set {hub}{at} is not in the local Hugging Face cache ({e}); "
                f"repro never downloads to compute a pin: fetch it first "
                f"(huggingface-cli download --repo-type dataset {hub}"
                f"{' --revision ' + rev if rev else ''}), or pin a local copy "
                "with data.source.path"
            ) from None
        digest, files = hash_path(folder, file_hash)
        return SourceHash("hub", source_label(source), digest, files, folder)
    raise ReproError(f"{where}: must have one of the keys 'builtin', 'path' or 'hub'")
