"""What the train and evaluate stages do first and last: note the time, code and seeds, find
the base, open the MLflow run; at the end, write the lineage and run records."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from repro.contract import paths
from repro.contract.secrets import redact
from runners import entry
from runners.models import adapters, modeling
from runners.records import lineage
from runners.records.tracking import StageRun, flatten
from runners.training import seeding


@dataclass
class StageStart:
    started: Any
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
    if entry.stage_process and not adapters.needs_bitsandbytes(s, stage):
        adapters.hide_bitsandbytes()  # peft and TRL would import it for nothing
    seeding.seed_everything(s["seed"], full=seeding.determinism(s),
                           threads=seeding.threads(s))
    run = StageRun.start(
        spec=s,
        name=name,
        stage=stage,
        root=root,
        params=redact({**flatten(spec), **flatten(manifest["dataset"], "dataset.")}),
        tags=lineage.tracking_tags(spec, manifest, git, stage),
    )
    return StageStart(started, git, ref, run)


def inputs(root: Path, s: dict[str, Any], name: str, stage: str, manifest: dict[str, Any],
           ref: modeling.BaseRef) -> dict[str, Any]:
    """Content hashes of everything a stage read, each with a pointer to its own record."""
    out = {
        "data": lineage.data_input(root, s["data"], manifest),
        "tokenizer": lineage.tokenizer_input(root, s["data"]),
        "base_model": lineage.base_input(root, s["model"]["base"], ref),
    }
    reward = (s.get("train") or {}).get("reward") if stage == "train" else None
    refs = [r["spec"] for r in (reward if isinstance(reward, list) else [reward])
            if isinstance(r, dict) and "spec" in r]
    if refs:  # GRPO rewarded by reward models other specs trained
        out["reward_models"] = [{
            "spec": ref,
            "path": paths.model_dir(ref).as_posix(),
            "sha256": lineage.content_hash(root / paths.model_dir(ref)),
            "record": lineage.pointer(root, paths.spec_dir(ref) / paths.TRAIN_LINEAGE),
        } for ref in refs]
    if stage == "evaluate":
        out["model"] = {
            "path": paths.model_dir(name).as_posix(),
            "sha256": lineage.content_hash(root / paths.model_dir(name)),
            "record": lineage.pointer(root, paths.spec_dir(name) / paths.TRAIN_LINEAGE),
        }
    return out


OUTPUTS = {
    "train": (paths.MODEL_DIR, paths.TRAIN_METRICS, paths.TRAIN_LOG),
    "evaluate": (paths.METRICS,),
}


def finish_records(
    st: StageStart, stage: str, spec: dict[str, Any], s: dict[str, Any], name: str, root: Path,
    manifest: dict[str, Any], command: str | None, extra: dict[str, Any] | None = None,
) -> list[Path]:
    """Write the stage's lineage and run records; return their paths (for MLflow).

    ``extra``: more deterministic facts for the lineage record (e.g. the TRL trainer class).
    """
    d = paths.spec_dir(name)
    lineage.write(
        stage=stage, name=name, spec=spec, manifest=manifest, root=root, start=st,
        inputs=inputs(root, s, name, stage, manifest, st.ref),
        outs=[d / f for f in OUTPUTS[stage]], command=command, extra=extra,
    )
    return [root / d / paths.lineage_file(stage), root / d / paths.run_file(stage)]
