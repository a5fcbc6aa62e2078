"""Where a data source's rows live on disk: the one rule `repro pin` and the prepare stage share.

A ``{path}`` source is a file or folder relative to the workspace root; a ``{hub}`` source is
the Hugging Face snapshot of the data set at its revision (its ``subset`` folder when one is
named). Both planes call these, so the bytes a pin hashes are the bytes prepare reads.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


class SourceUnavailable(Exception):
    """The source's files are not there; the message says which and why, in one line."""


def source_label(source: dict[str, Any]) -> str:
    """``builtin:NAME``, ``path:REL`` or ``hub:ID@REV``: how records and messages name a source."""
    if "builtin" in source:
        return f"builtin:{source['builtin']}"
    if "path" in source:
        return f"path:{source['path']}"
    return f"hub:{source['hub']}@{source.get('revision') or 'main'}"


def local_path(root: Path, rel: str) -> Path:
    """A ``data.source.path`` (or any path a spec names) as a path on this machine: inside the
    workspace (symlinks resolved), or a named ``external:`` entry of the workspace config.
    Raises ``paths.PathRefused`` otherwise, before anything at that path is opened."""
    from repro.contract.paths import spec_path

    return spec_path(root, rel)


def hub_snapshot(hub: str, revision: str | None, *, local_only: bool) -> Path:
    """The local folder of hub data set ``hub`` at ``revision``.

    ``local_only``: from the Hugging Face cache only (what `repro pin` does: it never
    downloads); otherwise downloaded when missing (with ``HF_HUB_OFFLINE=1``, cache only).
    """
    from huggingface_hub import snapshot_download

    try:
        return Path(snapshot_download(hub, repo_type="dataset", revision=revision,
                                      local_files_only=local_only))
    except Exception as e:  # noqa: BLE001 - hub errors come in many types; say what failed
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise SourceUnavailable(first) from None


def hub_folder(source: dict[str, Any], *, local_only: bool) -> Path:
    """The folder a ``{hub}`` source's rows are read from: the snapshot, or its subset folder."""
    folder = hub_snapshot(source["hub"], source.get("revision"), local_only=local_only)
    subset = source.get("subset")
    if subset:
        folder = folder / subset
        if not folder.is_dir():
            raise SourceUnavailable(f"no subset folder '{subset}' in the snapshot of "
                                    f"{source['hub']}@{source.get('revision') or 'main'}")
    return folder
