"""A train or evaluate stage's life, written once: start, seed once, the body, outputs, records.

``run`` notes the start time and git state, finds the base model, opens the MLflow run and
seeds every RNG (once, right before the body), then calls the stage's body. The body returns
an :class:`Outcome`; the harness writes its files atomically under ``runs/<spec>/``, writes
the lineage and run records, logs the final metrics and closes the MLflow run. On any
failure the MLflow run is marked failed and nothing half-written is left behind. Under
``accelerate launch`` only rank 0 writes, logs and prints.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from repro.contract import paths
from repro.contract.fsio import atomic_dir, write_text_atomic
from repro.contract.secrets import redact
from runners import entry
from runners.models import adapters, modeling
from runners.records import lineage
from runners.records.tracking import StageRun, flatten
from runners.training import seeding
from runners.training.distributed import Dist


@dataclass
class Stage:
    """What a stage body gets: the spec, its data, its base model and its MLflow run."""

    kind: str  # train | evaluate
    name: str
    root: Path
    spec: dict[str, Any]  # the params.yaml entry
    s: dict[str, Any]  # the same, defaults filled in and checked
    manifest: dict[str, Any]  # the prepared data set's manifest
    started: Any
    git: dict[str, Any]
    ref: modeling.BaseRef
    run: StageRun
    dist: Dist
    generator: Any = None  # the data-order torch.Generator, seeded
    intermediate: Any = None  # settings for evaluation during training (a sweep trial's)

    @property
    def data_dir(self) -> Path:
        return self.root / paths.data_dir(self.s["data"])

    @property
    def out_dir(self) -> Path:
        return self.root / paths.spec_dir(self.name)

    def say(self, line: str) -> None:
        """Print a progress line (rank 0 only)."""
        if self.dist.main:
            print(line, flush=True)


@dataclass
class Outcome:
    """What a stage body produced; the harness writes and records it."""

    metrics: dict[str, Any]
    # name under runs/<spec>/ -> its text, or a function filling a fresh directory
    files: dict[str, str | Callable[[Path], None]] = field(default_factory=dict)
    logged: dict[str, float] = field(default_factory=dict)  # final metrics for MLflow
    extra: dict[str, Any] | None = None  # more deterministic facts for the lineage record
    summary: str = ""  # printed last
    after_success: Callable[[], None] | None = None  # e.g. removing checkpoints


def run(
    kind: str, spec: dict[str, Any], s: dict[str, Any], name: str, root: Path,
    manifest: dict[str, Any], command: str | None, body: Callable[[Stage], Outcome],
    dist: Dist | None = None, intermediate: Any = None,
) -> dict[str, Any]:
    """Run stage ``kind`` of spec ``name`` around ``body``; return the body's metrics."""
    dist = dist or Dist()
    # only rank 0 tracks: the other processes open no MLflow run
    tracked = s if dist.main else {**s, "tracking": {**s["tracking"], "mlflow": False}}
    started, git = lineage.now(), lineage.git_info(root)
    ref = modeling.base_ref(s["model"]["base"], root)
    if entry.stage_process and not adapters.needs_bitsandbytes(s, kind):
        adapters.hide_bitsandbytes()  # peft and TRL would import it for nothing
    mlflow = StageRun.start(
        spec=tracked, name=name, stage=kind, root=root,
        params=redact({**flatten(spec), **flatten(manifest["dataset"], "dataset.")}),
        tags=lineage.tracking_tags(spec, manifest, git, kind),
        manifest=manifest, git=git, command=command,
    )
    st = Stage(kind, name, root, spec, s, manifest, started, git, ref, mlflow, dist,
               intermediate=intermediate)
    try:
        st.generator = seeding.seed_everything(
            s["seed"], full=seeding.determinism(s), threads=seeding.threads(s))
        outcome = body(st)
        if not dist.main:
            dist.barrier()  # rank 0 writes the outputs
            dist.end()
            return outcome.metrics
        written = _write(st.out_dir, outcome.files)
        records = _records(st, command, outcome.extra)
        if outcome.after_success is not None:
            outcome.after_success()
        dist.barrier()
        dist.end()
    except BaseException:
        mlflow.finish(failed=True)
        raise
    mlflow.log_metrics(outcome.logged)
    mlflow.finish([*written, *records], out_dir=st.out_dir)
    if outcome.summary:
        print(outcome.summary)
    return outcome.metrics


def _write(out_dir: Path, files: dict[str, str | Callable[[Path], None]]) -> list[Path]:
    """Write each output atomically; return the plain files (MLflow artifacts)."""
    plain = []
    for rel, content in files.items():
        if callable(content):
            with atomic_dir(out_dir / rel) as tmp:
                content(tmp)
        else:
            write_text_atomic(out_dir / rel, content)
            plain.append(out_dir / rel)
    return plain


def inputs(st: Stage) -> dict[str, Any]:
    """Content hashes of everything a stage read, each with a pointer to its own record."""
    root, s, name = st.root, st.s, st.name
    out = {
        "data": lineage.data_input(root, s["data"], st.manifest),
        "tokenizer": lineage.tokenizer_input(root, s["data"]),
        "base_model": lineage.base_input(root, s["model"]["base"], st.ref),
    }
    reward = (s.get("train") or {}).get("reward") if st.kind == "train" else None
    refs = [r["spec"] for r in (reward if isinstance(reward, list) else [reward])
            if isinstance(r, dict) and "spec" in r]
    if refs:  # GRPO rewarded by reward models other specs trained
        out["reward_models"] = [{
            "spec": ref,
            "path": paths.model_dir(ref).as_posix(),
            "sha256": lineage.content_hash(root / paths.model_dir(ref)),
            "record": lineage.pointer(root, paths.spec_dir(ref) / paths.TRAIN_LINEAGE),
        } for ref in refs]
    teacher = (s.get("model") or {}).get("teacher") if st.kind == "train" else None
    if teacher:  # distillation: the teacher's trained model, by content hash
        out["teacher"] = {
            "spec": teacher["spec"],
            "path": paths.model_dir(teacher["spec"]).as_posix(),
            "sha256": lineage.content_hash(root / paths.model_dir(teacher["spec"])),
            "record": lineage.pointer(root, paths.spec_dir(teacher["spec"]) / paths.TRAIN_LINEAGE),
        }
    if st.kind == "evaluate":
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


def _records(st: Stage, command: str | None, extra: dict[str, Any] | None) -> list[Path]:
    """Write the stage's lineage and run records; return their paths (for MLflow)."""
    d = paths.spec_dir(st.name)
    lineage.write(
        stage=st.kind, name=st.name, spec=st.spec, manifest=st.manifest, root=st.root, start=st,
        inputs=inputs(st), outs=[d / f for f in OUTPUTS[st.kind]], command=command, extra=extra,
    )
    return [st.root / d / paths.lineage_file(st.kind), st.root / d / paths.run_file(st.kind)]
