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

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from repro.contract import paths
from repro.contract.records import RecordError, RunRecord, StageLineage, load_lineage, parse, v1_run
from repro.errors import ReproError
from repro.results.sources import (
    GitRevSource,
    MlflowSource,
    Source,
    WorkspaceSource,
    read_bytes,
    sha,
)

STAGES = ("train", "evaluate")
RUN_ID = re.compile(r"^[0-9a-f]{32}$")


def json_object(raw: bytes | None) -> dict[str, Any] | None:
    """A metrics file's content: the JSON object, or None (missing, not JSON, not an object)."""
    if raw is None:
        return None
    try:
        value = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    return value if isinstance(value, dict) else None


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
        params = result.source.params() or {}
        spec = (params.get("specs") or {}).get(result.spec)
        if spec is None:
            raise ReproError(f"{result.label}: no lineage records and no spec '{result.spec}' "
                             f"in {paths.PARAMS_FILE} ({result.source.label})")
        result.params = spec
        result.dataset = (params.get("datasets") or {}).get(spec.get("data"))
        result.notes.append("no lineage records (never built, or not in the DVC cache): "
                            "comparing the spec only")
    return result


def _workspace_root(start: Path) -> Path:
    """The nearest folder at or above ``start`` with specs/ (as repro.spec.workspace.find_root,
    without importing the schema: diff and lineage stay light)."""
    here = start.resolve()
    for folder in (here, *here.parents):
        if (folder / paths.SPECS_DIR).is_dir():
            return folder
    raise ReproError(f"no repro workspace at or above {here} (no '{paths.SPECS_DIR}/' folder)")


TRIAL_REF = re.compile(r"^(?P<spec>[A-Za-z0-9][A-Za-z0-9_-]*)#(?P<n>[0-9]+)$")


def load_result(text: str, cwd: Path | None = None) -> Result:
    """Resolve what the user typed (spec, run dir, REV:path, MLflow run id) to a Result."""
    cwd = Path(cwd or Path.cwd())
    trial = TRIAL_REF.match(text)
    if trial:  # SPEC#N: trial N of a sweep's study
        root = _workspace_root(cwd)
        rel = paths.spec_dir(trial["spec"]) / "study" / "trials" / f"{int(trial['n']):04d}"
        if not (root / rel).is_dir():
            raise ReproError(f"{text}: no trial {trial['n']} of a sweep '{trial['spec']}' "
                             f"({rel} does not exist; build the sweep first)")
        return _fill(Result(text, text, WorkspaceSource(root)), rel.as_posix())
    path = Path(text)
    full = path if path.is_absolute() else cwd / path
    if full.is_dir():
        d = full.resolve()
        if not any((d / paths.lineage_file(s)).is_file() for s in STAGES):
            raise ReproError(f"{text}: no lineage records in this directory")
        runs = next((p for p in d.parents if p.name == paths.RUNS.name), None)
        root = runs.parent if runs is not None else d.parent  # runs/<spec>/study/trials/<N> too
        return _fill(Result(text, d.name, WorkspaceSource(root)),
                     d.relative_to(root).as_posix())
    if full.is_file():
        if full.suffix in (".yaml", ".yml"):
            root = _workspace_root(full.parent)
            return _fill(Result(text, full.stem, WorkspaceSource(root)),
                         paths.spec_dir(full.stem).as_posix())
        if full.name.endswith(".lineage.json") or full.name.endswith(".run.json"):
            return load_result(str(full.parent), cwd)
        raise ReproError(f"{text}: not a spec, run directory or lineage record")
    if ":" in text and not RUN_ID.match(text):
        rev, _, rel = text.partition(":")
        root = _workspace_root(cwd)
        name = Path(rel).stem if rel.endswith((".yaml", ".yml")) else Path(rel).name
        if not name:
            raise ReproError(f"{text}: expected REV:specs/<name>.yaml (or REV:runs/<name>)")
        return _fill(Result(text, name, GitRevSource(root, rev)),
                     paths.spec_dir(name).as_posix())
    root = _workspace_root(cwd)
    if RUN_ID.match(text):
        return _mlflow_result(root, text)
    if (root / paths.spec_dir(text)).is_dir() or (root / paths.SPECS_DIR / f"{text}.yaml").is_file():
        return _fill(Result(text, text, WorkspaceSource(root)), paths.spec_dir(text).as_posix())
    raise ReproError(
        f"{text}: not a spec, run directory, REV:path or MLflow run id "
        f"(specs have results under {paths.RUNS}/<name>/)"
    )


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
