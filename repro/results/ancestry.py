"""The ancestry of a result: the tree of records its inputs point to, and how it is shown.

``repro lineage`` renders the tree (``render_tree``) or prints it as JSON (``tree_json``);
``repro diff`` walks it (``walk``) to compare code, environment and data over every record.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from repro.contract import paths
from repro.contract.records import (
    FileRef,
    Manifest,
    PrepareLineage,
    RecordError,
    RunRecord,
    StageLineage,
    load_lineage,
    parse,
)
from repro.results.result import STAGES, Result, run_record
from repro.results.sources import Source

AnyRecord = StageLineage | PrepareLineage | Manifest


@dataclass
class Node:
    """One record in an ancestry tree, with the records it points to."""

    kind: str  # evaluate | train | prepare | manifest
    path: str
    record: AnyRecord | None
    run: RunRecord | None = None
    matches: bool = True  # the file still has the sha256 it was pointed at with
    children: list[tuple[str, Node]] = field(default_factory=list)  # (role, node)
    repeat: bool = False  # already shown elsewhere in the tree
    error: str | None = None  # why the record could not be read


def _load(raw: bytes, rel: str, kind: str) -> AnyRecord:
    data = parse(raw, rel)
    if kind == "manifest":
        return Manifest.load(data, rel)
    record = load_lineage(data, rel)
    want = PrepareLineage if kind == "prepare" else StageLineage
    if not isinstance(record, want):
        raise RecordError(f"{rel}: a {record.stage} record where a {kind} record was expected")
    return record


def _pointed(source: Source, ptr: FileRef | None, kind: str, seen: set[str]) -> Node | None:
    if ptr is None or not ptr.path:
        return None
    rel = ptr.path
    raw, ok = source.pointed(rel, ptr.sha256)
    record, run, error = None, None, None
    if raw is not None:
        try:
            record = _load(raw, rel, kind)
        except RecordError as e:
            error = str(e)
    if record is not None and kind in STAGES:
        rel_run = str(Path(rel).with_name(paths.run_file(kind)))
        run = run_record(source.read(rel_run), rel_run, [])
        if run and not run.belongs_to(ptr.sha256):
            run = None
    node = Node(kind, rel, record, run, ok, error=error)
    if rel in seen:
        node.repeat = True
    elif record is not None:
        seen.add(rel)
        node.children = _children(source, record, seen)
    return node


def _children(source: Source, record: AnyRecord, seen: set[str]) -> list[tuple[str, Node]]:
    if not isinstance(record, StageLineage):
        return []  # prepare records and manifests point at raw data only
    inputs = record.inputs
    out: list[tuple[str, Node]] = []
    for role, kind, item in (("model", "train", inputs.model), ("data", "prepare", inputs.data),
                             ("base_model", "train", inputs.base_model)):
        ptr = item.record if item is not None else None
        if ptr is not None and Path(ptr.path).name == paths.DATA_MANIFEST:
            kind = "manifest"
        node = _pointed(source, ptr, kind, seen)
        if node is not None:
            out.append((role, node))
    for item in inputs.reward_models or []:  # GRPO: other specs' reward models
        node = _pointed(source, item.record, "train", seen)
        if node is not None:
            out.append(("reward_model", node))
    if inputs.teacher is not None:  # distillation: the teacher's train record
        node = _pointed(source, inputs.teacher.record, "train", seen)
        if node is not None:
            out.append(("teacher", node))
    return out


def ancestry(result: Result) -> Node:
    """The tree of records under a result's latest record."""
    stage = "evaluate" if "evaluate" in result.records else "train"
    record = result.records.get(stage)
    rel = f"{paths.spec_dir(result.spec).as_posix()}/{paths.lineage_file(stage)}"
    node = Node(stage, rel, record, result.runs.get(stage))
    if record is not None:
        node.children = _children(result.source, record, {rel})
    return node


def walk(node: Node, role: str = "result"):
    """(role path, node) for every node, depth first."""
    yield role, node
    for child_role, child in node.children:
        yield from walk(child, f"{role}/{child_role}")


# ----------------------------------------------------------------------------- views


def _h(v: Any) -> str:
    return str(v)[:12] if v else "-"


def _stage_lines(node: Node, r: StageLineage, stale: str) -> list[str]:
    lines = [f"{node.kind} {r.spec}  ({node.path}){stale}",
             f"spec hash {_h(r.spec_hash)}  seed {r.determinism.seed}  determinism "
             f"{'full' if r.determinism.full else 'seeded'}"]
    base = r.inputs.base_model
    if base is not None and base.kind == "config":
        lines.append(f"base model: new, from a config  sha256 {_h(base.sha256)}")
    elif base is not None:
        lines.append(f"base model: {base.kind} {base.ref}"
                     f"{'@' + base.revision if base.revision else ''}  sha256 {_h(base.sha256)}")
    data = r.inputs.data
    if data is not None:
        lines.append(f"data: {data.key}  data_hash {_h(data.data_hash)}  "
                     f"raw {_h(data.raw_hash)}")
    for path, digest in r.outputs.items():
        lines.append(f"output: {path}  sha256 {_h(digest)}")
    return lines


def _run_lines(run: RunRecord, command: str | None) -> list[str]:
    git, hw = run.git, run.hardware
    gpus = ", ".join(hw.gpus) or "no GPU"
    lines = [f"ran: {run.started} for {run.duration_s} s: {run.command or command}",
             f"git: {_h(git.commit)}"
             + (f" (dirty, diff {_h(git.diff_sha256)})" if git.dirty else " (clean)"),
             f"hardware: {hw.cpu}, {hw.cpu_count} CPUs, {gpus}"
             f"{', driver ' + hw.gpu_driver if hw.gpu_driver else ''}"]
    if run.tracking.mlflow_run_id:
        lines.append(f"mlflow run: {run.tracking.mlflow_run_id}")
    return lines


def describe(node: Node) -> list[str]:
    """The lines shown for one record in ``repro lineage``."""
    r = node.record
    if r is None:
        return [f"{node.kind} {node.path}: {node.error or 'record not found'}"]
    stale = "" if node.matches else "  [CHANGED since it was pointed to]"
    if node.repeat:
        what = r.dataset if isinstance(r, PrepareLineage) else getattr(r, "spec", "")
        return [f"{node.kind} {what or ''}  ({node.path}, shown above){stale}"]
    if isinstance(r, Manifest):
        return [f"data {node.path}  data {_h(r.data_hash)}  raw {_h(r.raw_hash)}{stale}"]
    if isinstance(r, PrepareLineage):
        raw = r.inputs.raw
        lines = [f"prepare {r.dataset}  ({node.path}){stale}",
                 f"raw data: {raw.source if raw else None}  hash {_h(raw.hash if raw else None)}",
                 f"prepared: data_hash {_h(r.outputs.data_hash)}"]
    else:
        lines = _stage_lines(node, r, stale)
    env = r.environment
    shown = ", ".join(f"{k} {v}" for k, v in env.versions.items()
                      if v and k in ("torch", "transformers", "peft", "trl", "datasets"))
    lines.append(f"code: {len(r.code.sources)} source files  sha256 {_h(r.code.sha256)}")
    lines.append(f"environment: python {env.python} {env.platform or ''}; "
                 f"{shown}; {len(env.packages)} packages "
                 f"({(env.lock.path if env.lock else None) or env.source or '?'} "
                 f"{_h(env.lock.sha256 if env.lock else None)})")
    for a in r.determinism.allowed_nondeterminism:
        lines.append(f"non-determinism allowed: {a}")
    if node.run is not None:
        lines += _run_lines(node.run, r.command)
    elif node.kind in STAGES:
        lines.append("run record: not here (restored from a cache, or from another machine)")
    return lines


def render_tree(node: Node) -> str:
    out: list[str] = []

    def emit(n: Node, role: str, prefix: str, last: bool, top: bool) -> None:
        lines = describe(n)
        head = "" if top else prefix + ("└─ " if last else "├─ ")
        body = "" if top else prefix + ("   " if last else "│  ")
        out.append(f"{head}{'' if top else role + ': '}{lines[0]}")
        kids = n.children
        for line in lines[1:]:
            out.append(f"{body}{'│  ' if kids else '   '}{line}")
        for i, (child_role, child) in enumerate(kids):
            emit(child, child_role, body, i == len(kids) - 1, False)

    emit(node, "result", "", True, True)
    return "\n".join(out)


def tree_json(node: Node) -> dict[str, Any]:
    return {
        "kind": node.kind,
        "path": node.path,
        "matches_pointer": node.matches,
        "shown_above": node.repeat,
        "record": node.record.to_dict() if node.record is not None else None,
        "run": node.run.to_dict() if node.run is not None else None,
        "inputs": {role: tree_json(child) for role, child in node.children},
        **({"error": node.error} if node.error else {}),
    }
