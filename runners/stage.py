"""What the train and evaluate stages do first: note the time and code, find the base, open the run."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runners import lineage, modeling
from runners.tracking import StageRun, flatten


@dataclass
class StageStart:
    started: str
    git: dict[str, Any]
    ref: modeling.BaseRef
    run: StageRun


def start(
    spec: dict[str, Any], s: dict[str, Any], name: str, root: Path, stage: str,
    manifest: dict[str, Any],
) -> StageStart:
    """``spec`` as in params.yaml, ``s`` the same with defaults filled in."""
    started, git = lineage.now(), lineage.git_info(root)
    ref = modeling.base_ref(s["model"]["base"], root)
    run = StageRun.start(
        spec=s,
        name=name,
        stage=stage,
        root=root,
        params={**flatten(spec), **flatten(manifest["dataset"], "dataset.")},
        tags=lineage.tracking_tags(spec, manifest, git, stage),
    )
    return StageStart(started, git, ref, run)
