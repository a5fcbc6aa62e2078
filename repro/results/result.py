"""A result (what one spec produced) read back from wherever it lives: ``load_result``.

A result is its train and evaluate lineage records (DVC outs, deterministic), their run
records (per execution, when they still belong to the same record) and its metrics. It can be
named by:

- a spec name (``tiny-sft-lora``) or spec file (``specs/tiny-sft-lora.yaml``): the
  results under ``runs/<name>/`` of the workspace;
- a run directory (``runs/tiny-sft-lora``, or one in another clone);
- a git revision and spec path (``HEAD~3:specs/x.yaml``): the records that revision's
  ``dvc.lock`` names, read from the DVC cache (the spec as that revision's
  ``params.yaml`` compiled it, when the cache no longer has them);
- an MLflow run id (a stage run, or the parent run of a spec): the records logged as
  its artifacts.

Records of any known version are upgraded by ``repro.contract.records`` as they are read.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from repro.contract import paths
from repro.contract.records import RecordError, RunRecord, StageLineage, load_lineage, parse, v1_run
from repro.errors import ReproError
from repro.results.sources import (
    GitRevSource,
    MlflowSource,
    Ref,
    Source,
    WorkspaceSource,
    json_object,
    parse_ref,
    read_bytes,
    sha,
)

STAGES = ("train", "evaluate")


@dataclass
class Result:
    label: str
    spec: str
    source: Source
    records: dict[str, StageLineage] = field(default_factory=dict)  # stage -> lineage record
    runs: dict[str, RunRecord] = field(default_factory=dict)  # stage -> its run record
    metrics: dict[str, Any] | None = None
    train_metrics: dict[str, Any] | None = None
    params: dict[str, Any] | None = None  # specs.<name> when no record has it
    dataset: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)
    catalog: dict[str, Any] | None = None  # params.yaml's specs + datasets, for an unbuilt one
    missing: str | None = None  # why there are no lineage records
    remedy: str | None = None  # how to build or fetch them

    @property
    def record(self) -> StageLineage | None:
        """The spec's latest record: evaluate if there is one, else train."""
        return self.records.get("evaluate") or self.records.get("train")

    def spec_params(self) -> dict[str, Any] | None:
        r = self.record
        return r.params if r else self.params

    def dataset_params(self) -> dict[str, Any] | None:
        r = self.record
        return r.dataset if r else self.dataset


def stage_records(raw: bytes | None, where: str, notes: list[str]
                  ) -> tuple[StageLineage | None, RunRecord | None]:
    """A train or evaluate lineage record from its bytes (upgraded), and the run facts a
    version-1 record kept inline; (None, None) with a note when it cannot be read."""
    if raw is None:
        return None, None
    try:
        data = parse(raw, where)
        record = load_lineage(data, where)
        if not isinstance(record, StageLineage):
            raise RecordError(f"{where}: a {record.stage} record, not a train or evaluate one")
        inline = v1_run(data)
        return record, RunRecord.load(inline, where) if inline else None
    except RecordError as e:
        notes.append(f"ignored: {e}")
        return None, None


def run_record(raw: bytes | None, where: str, notes: list[str]) -> RunRecord | None:
    if raw is None:
        return None
    try:
        return RunRecord.load(parse(raw, where), where)
    except RecordError as e:
        notes.append(f"ignored: {e}")
        return None


def _load_stage(result: Result, rel_dir: str, stage: str) -> None:
    rel = f"{rel_dir}/{paths.lineage_file(stage)}"
    raw = result.source.read(rel)
    record, inline = stage_records(raw, rel, result.notes)
    if record is None:
        return
    result.records[stage] = record
    if inline is not None:
        result.runs[stage] = inline
        return
    rel_run = f"{rel_dir}/{paths.run_file(stage)}"
    run = run_record(result.source.read(rel_run), rel_run, result.notes)
    if run and run.belongs_to(sha(raw)):
        result.runs[stage] = run
    elif run:
        result.notes.append(f"{stage}: the run record belongs to an earlier execution; ignored")


def _fill(result: Result, rel_dir: str) -> Result:
    for stage in STAGES:
        _load_stage(result, rel_dir, stage)
    result.metrics = json_object(result.source.read(f"{rel_dir}/{paths.METRICS}"))
    result.train_metrics = json_object(result.source.read(f"{rel_dir}/{paths.TRAIN_METRICS}"))
    if not result.records:
        from repro.results.unbuilt import from_spec

        from_spec(result)
    return result


def _workspace_result(ref: Ref) -> Result:
    result = _fill(Result(ref.text, ref.name, WorkspaceSource(ref.root)),
                   ref.rel or paths.spec_dir(ref.name).as_posix())
    if ref.kind in ("spec", "spec-file") and result.record is not None:
        compiled = ((result.source.params() or {}).get("specs") or {}).get(ref.name)
        if compiled is not None and compiled != result.record.params:
            result.notes.append(f"{paths.spec_dir(ref.name)} was built from an older version of "
                                f"the spec than {paths.PARAMS_FILE} holds now: this compares "
                                f"the built result (`repro run {ref.name}` rebuilds it)")
    return result


def _rev_result(ref: Ref) -> Result:
    return _fill(Result(ref.text, ref.name, GitRevSource(ref.root, ref.rev)),
                 paths.spec_dir(ref.name).as_posix())


def _run_dir_result(ref: Ref) -> Result:
    d = ref.root / ref.rel
    if not any((d / paths.lineage_file(s)).is_file() for s in STAGES):
        raise ReproError(f"{ref.text}: no lineage records in this directory")
    return _workspace_result(ref)


def _not_a_result(ref: Ref) -> Result:
    raise ReproError(f"{ref.text}: a git revision, not a result: name a spec in it "
                     f"({ref.text}:specs/<name>.yaml), or diff two whole revisions with "
                     f"`repro diff {ref.text} [REV]`")


# how each kind of reference (repro.results.sources.PARSERS) is loaded as a result
LOADERS: dict[str, Callable[[Ref], Result]] = {
    "run-dir": _run_dir_result,
    "spec-file": _workspace_result,
    "spec": _workspace_result,
    "rev-path": _rev_result,
    "mlflow": lambda ref: _mlflow_result(ref.root, ref.text),
    "revision": _not_a_result,
    "trial": _workspace_result,  # SPEC#N: runs/SPEC/study/trials/NNNN
}


def load_result(text: str, cwd: Path | None = None) -> Result:
    """Resolve what the user typed (spec, run dir, REV:path, MLflow run id) to a Result."""
    return load_ref(parse_ref(text, cwd))


def load_ref(ref: Ref) -> Result:
    return LOADERS[ref.kind](ref)


def _mlflow_result(root: Path, run_id: str) -> Result:
    db = root / "mlflow.db"
    if not db.is_file():
        raise ReproError(f"{run_id}: looks like an MLflow run id, but {db} does not exist "
                         "(only the local SQLite store can be read without MLflow)")
    src = MlflowSource(db)
    tags = src.tags(run_id)
    if not tags:
        raise ReproError(f"{run_id}: no such run in {db}")
    spec = tags.get("repro.spec")
    if not spec:
        raise ReproError(f"{run_id}: not a repro run (no repro.spec tag)")
    result = Result(run_id, spec, src)
    runs = [run_id] if tags.get("repro.role") == "stage" else src.children(run_id)
    if tags.get("repro.role") == "stage" and tags.get("repro.stage") == "evaluate":
        parent = tags.get("mlflow.parentRunId")
        # the train record it was evaluated with is found by hash through the source
        runs += [r for r in (src.children(parent) if parent else [])
                 if src.tags(r).get("repro.stage") == "train"]
    for rid in runs:
        d = src.artifact_dir(rid)
        stage = src.tags(rid).get("repro.stage")
        if d is None or stage not in STAGES or stage in result.records:
            continue
        raw = read_bytes(d / paths.lineage_file(stage))
        record, inline = stage_records(raw, f"mlflow run {rid}: {paths.lineage_file(stage)}",
                                       result.notes)
        if record is None:
            continue
        if stage == "train" and "evaluate" in result.records:
            model = result.records["evaluate"].inputs.model
            want = model.record.sha256 if model and model.record else None
            if want and want != sha(raw):
                continue
        result.records[stage] = record
        run = inline or run_record(read_bytes(d / paths.run_file(stage)),
                                   f"mlflow run {rid}: {paths.run_file(stage)}", result.notes)
        if run:
            result.runs[stage] = run
        if stage == "evaluate":
            result.metrics = json_object(read_bytes(d / paths.METRICS))
        else:
            result.train_metrics = json_object(read_bytes(d / paths.TRAIN_METRICS))
    if not result.records:
        raise ReproError(f"{run_id}: the run has no lineage records among its artifacts")
    return result
