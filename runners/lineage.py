"""Lineage records: what went into a stage's result, written next to it as JSON.

A record names the spec and its hash, the data and its hash, the base model, the code
(git commit, dirty flag, a hash of the diff, hashes of the runner sources), the
environment (package versions, a hash of the whole package list), the hardware,
the seed, the command and the times.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

from runners.fileio import canonical_json, sha256_file, sha256_text

SCHEMA_VERSION = 1
PACKAGES = (
    "torch",
    "transformers",
    "peft",
    "tokenizers",
    "safetensors",
    "accelerate",
    "datasets",
    "mlflow",
    "numpy",
    "dvc",
)
RUNNERS_DIR = Path(__file__).resolve().parent


def spec_hash(spec: dict[str, Any], dataset: dict[str, Any]) -> str:
    """sha256 of ``canonical_json({"dataset": <datasets entry>, "spec": <specs entry>})``.

    Both dicts exactly as params.yaml holds them (before runner defaults are filled in).
    """
    return sha256_text(canonical_json({"dataset": dataset, "spec": spec}))


def tracking_tags(
    spec: dict[str, Any], manifest: dict[str, Any], git: dict[str, Any], stage: str
) -> dict[str, str | None]:
    """The ``repro.*`` tags an MLflow stage run carries."""
    return {
        "repro.spec_hash": spec_hash(spec, manifest["dataset"]),
        "repro.data_hash": manifest["data_hash"],
        "repro.git_commit": git.get("commit"),
        "repro.stage": stage,
    }


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _git(root: Path, *args: str) -> str | None:
    try:
        out = subprocess.run(
            ["git", "-C", str(root), *args],
            capture_output=True,
            check=False,
            timeout=30,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.decode("utf-8", "replace") if out.returncode == 0 else None


def git_info(root: Path) -> dict[str, Any]:
    """Commit, dirty flag (tracked files only) and the sha256 of ``git diff HEAD``.

    All None outside a git repository, without git, or before the first commit.
    """
    commit = _git(root, "rev-parse", "--verify", "-q", "HEAD")
    if not commit:
        return {"commit": None, "dirty": None, "diff_sha256": None}
    status = _git(root, "status", "--porcelain", "--untracked-files=no")
    diff = _git(root, "diff", "HEAD")
    return {
        "commit": commit.strip(),
        "dirty": bool(status.strip()) if status is not None else None,
        "diff_sha256": sha256_text(diff) if diff else None,
    }


def runner_sources() -> dict[str, str]:
    """sha256 of every runner source file, by path relative to the repository."""
    return {
        p.relative_to(RUNNERS_DIR.parent).as_posix(): sha256_file(p)
        for p in sorted(RUNNERS_DIR.rglob("*.py"))
    }


def environment() -> dict[str, Any]:
    from importlib import metadata

    versions: dict[str, str | None] = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    every = sorted(f"{d.metadata['Name']}=={d.version}".lower() for d in metadata.distributions())
    return {
        "versions": versions,
        "packages_sha256": hashlib.sha256("\n".join(every).encode()).hexdigest(),
    }


def hardware() -> dict[str, Any]:
    info: dict[str, Any] = {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
    }
    torch = sys.modules.get("torch")
    if torch is not None:
        info["torch_threads"] = torch.get_num_threads()
        info["cuda"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    return info


def record(
    *,
    stage: str,
    name: str,
    spec: dict[str, Any],
    data_key: str,
    manifest: dict[str, Any],
    git: dict[str, Any],
    started: dt.datetime,
    command: str | None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A lineage record for ``stage`` of spec ``name``; ``ended`` is now."""
    ended = now()
    return {
        "schema_version": SCHEMA_VERSION,
        "stage": stage,
        "spec": name,
        "spec_hash": spec_hash(spec, manifest["dataset"]),
        "params": spec,
        "seed": spec.get("seed"),
        "data": {
            "key": data_key,
            "data_hash": manifest["data_hash"],
            "raw_hash": manifest["raw_hash"],
            "source": manifest.get("source"),
        },
        "code": {**{f"git_{k}": v for k, v in git.items()}, "runners": runner_sources()},
        "environment": environment(),
        "hardware": hardware(),
        "command": command,
        "started": started.isoformat(timespec="seconds"),
        "ended": ended.isoformat(timespec="seconds"),
        "duration_s": round((ended - started).total_seconds(), 3),
        **(extra or {}),
    }
