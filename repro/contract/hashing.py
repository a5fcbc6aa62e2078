"""Content hashes, streamed (never a whole file in memory): sha256 and BLAKE3.

sha256 (plain hex) names prepared data, models and records: ``sha256_file``, ``file_hashes``
and ``sha256_dir``, the latter over the canonical JSON of a folder's file hashes.

Raw data is hashed with BLAKE3, written ``blake3:<64 hex>``. The same functions serve both planes: the
prepare stage records and checks the hash, ``repro pin`` writes it into a spec and
``repro run`` checks pins before any stage starts.

- one file: BLAKE3 of its bytes (the same digest as ``b3sum FILE``);
- a folder: BLAKE3 of its listing, one line ``<relative path>\\0<size>\\0<file digest>\\n``
  per file in sorted order (hidden files and folders skipped), so a renamed, added or
  changed file changes the hash, and the listing says which one did;
- generated or in-memory data: BLAKE3 of its bytes.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from repro.contract.fsio import canonical_json

PREFIX = "blake3:"
CHUNK = 1 << 20  # 1 MiB reads; BLAKE3 itself is faster than the disk on these machines


def _blake3():
    from blake3 import blake3

    return blake3()


def _digest_file(path: str | os.PathLike, h: Any, chunk: int = CHUNK) -> Any:
    """Feed a file's bytes to hasher ``h`` in ``chunk``-sized reads; return ``h``."""
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def sha256_file(path: str | os.PathLike) -> str:
    """sha256 (hex) of a file's bytes."""
    return _digest_file(path, hashlib.sha256()).hexdigest()


def file_hashes(directory: str | os.PathLike) -> dict[str, str]:
    """``{relative posix path: sha256}`` for every file under ``directory``, sorted."""
    root = Path(directory)
    return {
        p.relative_to(root).as_posix(): sha256_file(p)
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def sha256_dir(directory: str | os.PathLike) -> str:
    """One hash over a directory: sha256 of the canonical JSON of its file hashes."""
    return sha256_text(canonical_json(file_hashes(directory)))


def hash_bytes(data: bytes) -> str:
    h = _blake3()
    h.update(data)
    return PREFIX + h.hexdigest()


def hash_file(path: Path, chunk: int = CHUNK) -> str:
    """Streamed BLAKE3 of one file."""
    return PREFIX + _digest_file(path, _blake3(), chunk).hexdigest()


@dataclass(frozen=True)
class FileEntry:
    path: str  # relative to the hashed folder (the file name for a single file)
    size: int
    hash: str

    def as_dict(self) -> dict:
        return {"path": self.path, "size": self.size, "hash": self.hash}


def data_files(path: Path) -> list[Path]:
    """The files a source path stands for: itself, or every non-hidden file below it."""
    if path.is_file():
        return [path]
    return sorted(
        p for p in path.rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(path).parts)
    )


def hash_path(
    path: Path, file_hash: Callable[[Path], str] = hash_file
) -> tuple[str, list[FileEntry]]:
    """The content hash of a file or folder, and the per-file entries behind it.

    ``file_hash`` digests one file (a caching wrapper around ``hash_file``, say).
    """
    if path.is_file():
        digest = file_hash(path)
        return digest, [FileEntry(path.name, path.stat().st_size, digest)]
    entries = [
        FileEntry(p.relative_to(path).as_posix(), p.stat().st_size, file_hash(p))
        for p in data_files(path)
    ]
    listing = "".join(f"{e.path}\0{e.size}\0{e.hash}\n" for e in entries)
    return hash_bytes(listing.encode("utf-8")), entries


def diff_entries(old: list[dict], new: list[dict]) -> list[str]:
    """Human lines saying which files changed between two listings (path, size, hash)."""
    before = {e["path"]: e for e in old}
    after = {e["path"]: e for e in new}
    lines = []
    for p in sorted(before.keys() | after.keys()):
        a, b = before.get(p), after.get(p)
        if a is None:
            lines.append(f"added    {p} ({b['size']:,} bytes)")
        elif b is None:
            lines.append(f"removed  {p} ({a['size']:,} bytes)")
        elif a["hash"] != b["hash"]:
            lines.append(f"changed  {p} ({a['size']:,} -> {b['size']:,} bytes)")
    return lines
