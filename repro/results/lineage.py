"""Read results and their lineage back, wherever they live, and walk their ancestry.

A *result* is what one spec produced: its train and evaluate lineage records (DVC outs,
deterministic), their run records (per execution, when they still belong to the same
record), its metrics. It can be named by:

- a spec name (``tiny-sft-lora``) or spec file (``specs/tiny-sft-lora.yaml``): the
  results under ``runs/<name>/`` of the workspace;
- a run directory (``runs/tiny-sft-lora``, or one in another clone);
- a git revision and spec path (``HEAD~3:specs/x.yaml``): the records that revision's
  ``dvc.lock`` names, read from the DVC cache (the spec as that revision's
  ``params.yaml`` compiled it, when the cache no longer has them);
- an MLflow run id (a stage run, or the parent run of a spec): the records logged as
  its artifacts.

Records point at the records of their inputs by path and sha256; a *source* fetches a
pointed record from the same place the result came from. Standard library and PyYAML
only: ``repro lineage`` and ``repro diff`` import nothing heavy.
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from repro.contract import paths
from repro.errors import ReproError

STAGES = ("train", "evaluate")
RUN_ID = re.compile(r"^[0-9a-f]{32}$")


def _sha(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def _json(raw: bytes | None) -> dict[str, Any] | None:
    if raw is None:
        return None
    try:
        value = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def _yaml(text: str) -> Any:
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load(text, Loader=loader)  # noqa: S506 - a safe loader


# ----------------------------------------------------------------------------- sources


class Source:
    """Where a result's files are read from; ``read`` returns bytes or None."""

    label = ""

    def read(self, rel: str, sha256: str | None = None) -> bytes | None:
        raise NotImplementedError

    def params(self) -> dict[str, Any] | None:
        return None

    def record(self, rel: str, sha256: str | None = None) -> tuple[dict | None, bool]:
        """The JSON at ``rel`` and whether it still has the sha256 it was pointed at by."""
        raw = self.read(rel, sha256)
        if raw is None:
            return None, False
        return _json(raw), sha256 is None or _sha(raw) == sha256


class WorkspaceSource(Source):
    def __init__(self, root: Path):
        self.root = Path(root)
        self.label = str(root)

    def read(self, rel: str, sha256: str | None = None) -> bytes | None:
        try:
            return (self.root / rel).read_bytes()
        except OSError:
            return None

    def params(self) -> dict[str, Any] | None:
        try:
            return _yaml((self.root / paths.PARAMS_FILE).read_text(encoding="utf-8"))
        except OSError:
            return None


def git(root: Path, *args: str) -> str | None:
    try:
        out = subprocess.run(["git", "-C", str(root), *args], capture_output=True, timeout=30,
                             check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.decode("utf-8", "replace") if out.returncode == 0 else None


class GitRevSource(Source):
    """Files as of a git revision: tracked ones from git, DVC outs from the DVC cache."""

    def __init__(self, root: Path, rev: str):
        self.root, self.rev = Path(root), rev
        commit = git(root, "rev-parse", "--verify", "-q", f"{rev}^{{commit}}")
        if not commit:
            raise ReproError(f"{rev}: not a git revision of {root}")
        self.commit = commit.strip()
        self.label = f"{rev} ({self.commit[:10]})"
        lock = git(root, "show", f"{self.commit}:{paths.DVC_LOCK}")
        self.outs: dict[str, str] = {}
        if lock:
            for stage in (_yaml(lock) or {}).get("stages", {}).values():
                for out in stage.get("outs") or []:
                    if out.get("md5"):
                        self.outs[out["path"]] = out["md5"]
        self.cache = self._cache_dir()

    def _cache_dir(self) -> Path:
        """``.dvc/cache``, or the ``[cache] dir`` of ``.dvc/config(.local)``."""
        import configparser

        cache = self.root / ".dvc" / "cache"
        for name in ("config", "config.local"):
            cfg = configparser.ConfigParser()
            try:
                cfg.read(self.root / ".dvc" / name, encoding="utf-8")
            except configparser.Error:
                continue
            if cfg.has_option("cache", "dir"):
                d = Path(cfg.get("cache", "dir"))
                cache = d if d.is_absolute() else (self.root / ".dvc" / d)
        return cache

    def _cached(self, md5: str) -> bytes | None:
        for p in (self.cache / "files" / "md5" / md5[:2] / md5[2:], self.cache / md5[:2] / md5[2:]):
            try:
                return p.read_bytes()
            except OSError:
                continue
        return None

    def read(self, rel: str, sha256: str | None = None) -> bytes | None:
        if rel in self.outs:
            return self._cached(self.outs[rel])
        for out, md5 in self.outs.items():  # a file inside a directory out
            if md5.endswith(".dir") and rel.startswith(out.rstrip("/") + "/"):
                listing = self._cached(md5)
                inner = rel[len(out.rstrip("/")) + 1:]
                try:
                    entries = json.loads(listing or b"[]")
                except ValueError:
                    return None
                for entry in entries:
                    if entry.get("relpath") == inner:
                        return self._cached(entry["md5"])
                return None
        text = git(self.root, "show", f"{self.commit}:{rel}")
        return text.encode("utf-8") if text is not None else None

    def params(self) -> dict[str, Any] | None:
        text = git(self.root, "show", f"{self.commit}:{paths.PARAMS_FILE}")
        return _yaml(text) if text else None


class MlflowSource(Source):
    """Artifacts of MLflow runs in a local SQLite store (read with sqlite3: no MLflow import)."""

    def __init__(self, db: Path):
        self.db = db
        self.label = f"mlflow {db}"
        self.con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)

    def artifact_dir(self, run_id: str) -> Path | None:
        row = self.con.execute("select artifact_uri from runs where run_uuid = ?",
                               (run_id,)).fetchone()
        if not row or not row[0]:
            return None
        uri = urlparse(row[0])
        return Path(unquote(uri.path)) if uri.scheme in ("file", "") else None

    def tags(self, run_id: str) -> dict[str, str]:
        rows = self.con.execute("select key, value from tags where run_uuid = ?", (run_id,))
        return dict(rows.fetchall())

    def children(self, parent: str) -> list[str]:
        rows = self.con.execute(
            "select r.run_uuid from runs r join tags t on t.run_uuid = r.run_uuid "
            "where t.key = 'mlflow.parentRunId' and t.value = ? and r.status = 'FINISHED' "
            "order by r.start_time desc", (parent,))
        return [r[0] for r in rows.fetchall()]

    def read(self, rel: str, sha256: str | None = None) -> bytes | None:
        name = Path(rel).name
        spec = Path(rel).parent.name
        rows = self.con.execute(
            "select r.run_uuid from runs r join tags t on t.run_uuid = r.run_uuid "
            "where t.key = 'repro.spec' and t.value = ? order by r.start_time desc", (spec,))
        for (run_id,) in rows.fetchall():
            d = self.artifact_dir(run_id)
            if d is None:
                continue
            try:
                raw = (d / name).read_bytes()
            except OSError:
                continue
            if sha256 is None or _sha(raw) == sha256:
                return raw
        return None


# ----------------------------------------------------------------------------- results


@dataclass
class Result:
    label: str
    spec: str
    source: Source
    records: dict[str, dict] = field(default_factory=dict)  # stage -> lineage record
    runs: dict[str, dict] = field(default_factory=dict)  # stage -> run record (matching)
    metrics: dict[str, Any] | None = None
    train_metrics: dict[str, Any] | None = None
    params: dict[str, Any] | None = None  # specs.<name> when no record has it
    dataset: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def record(self) -> dict | None:
        """The spec's latest record: evaluate if there is one, else train."""
        return self.records.get("evaluate") or self.records.get("train")

    def spec_params(self) -> dict[str, Any] | None:
        r = self.record
        return r.get("params") if r else self.params

    def dataset_params(self) -> dict[str, Any] | None:
        r = self.record
        return r.get("dataset") if r else self.dataset


def normalise(record: dict[str, Any]) -> dict[str, Any]:
    """A record of any lineage version in the version-2 shape (version 1 had no inputs map)."""
    if record.get("lineage_version", 0) >= 2 or "schema_version" not in record:
        return record
    data = record.get("data") or {}
    code = record.get("code") or {}
    env = record.get("environment") or {}
    versions = env.get("versions") or {}
    inputs: dict[str, Any] = {"data": {
        "key": data.get("key"), "path": f"runs/_data/{data.get('key')}",
        "data_hash": data.get("data_hash"), "raw_sha256": data.get("raw_sha256"),
        "source": data.get("source"), "record": None}}
    if record.get("base_model"):
        inputs["base_model"] = dict(record["base_model"])
    if record.get("evaluated_model"):
        inputs["model"] = dict(record["evaluated_model"], record=None)
    return {
        "lineage_version": 1,
        "stage": record.get("stage"),
        "spec": record.get("spec"),
        "command": record.get("command"),
        "spec_hash": record.get("spec_hash"),
        "params": record.get("params"),
        "dataset": None,
        "inputs": inputs,
        "code": {"sources": code.get("runners") or {}},
        "environment": {"python": versions.get("python"), "packages": {
            k: v for k, v in versions.items() if k != "python"},
            "packages_sha256": env.get("packages_sha256")},
        "determinism": {"seed": record.get("seed")},
        "outputs": {},
        "_run": {"git": {k.removeprefix("git_"): v for k, v in code.items()
                         if k.startswith("git_")},
                 "hardware": record.get("hardware"), "started": record.get("started"),
                 "ended": record.get("ended"), "duration_s": record.get("duration_s"),
                 "tracking": {"mlflow_run_id": record.get("mlflow_run_id")}},
    }


def _load_stage(result: Result, rel_dir: str, stage: str) -> None:
    rel = f"{rel_dir}/{paths.lineage_file(stage)}"
    raw = result.source.read(rel)
    record = _json(raw)
    if record is None:
        return
    record = normalise(record)
    result.records[stage] = record
    if "_run" in record:
        result.runs[stage] = record.pop("_run")
        return
    run = _json(result.source.read(f"{rel_dir}/{paths.run_file(stage)}"))
    if run and (run.get("record") or {}).get("sha256") == _sha(raw):
        result.runs[stage] = run
    elif run:
        result.notes.append(f"{stage}: the run record belongs to an earlier execution; ignored")


def _fill(result: Result, rel_dir: str) -> Result:
    for stage in STAGES:
        _load_stage(result, rel_dir, stage)
    result.metrics = _json(result.source.read(f"{rel_dir}/{paths.METRICS}"))
    result.train_metrics = _json(result.source.read(f"{rel_dir}/{paths.TRAIN_METRICS}"))
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


def load_result(text: str, cwd: Path | None = None) -> Result:
    """Resolve what the user typed (spec, run dir, REV:path, MLflow run id) to a Result."""
    cwd = Path(cwd or Path.cwd())
    path = Path(text)
    full = path if path.is_absolute() else cwd / path
    if full.is_dir():
        d = full.resolve()
        if not any((d / paths.lineage_file(s)).is_file() for s in STAGES):
            raise ReproError(f"{text}: no lineage records in this directory")
        root = d.parent.parent if d.parent.name == paths.RUNS.name else d.parent
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
        raw = _read(d / paths.lineage_file(stage))
        record = _json(raw)
        if record is None:
            continue
        if stage == "train" and "evaluate" in result.records:
            want = ((result.records["evaluate"].get("inputs") or {}).get("model") or {})
            ptr = want.get("record") or {}
            if ptr.get("sha256") and ptr["sha256"] != _sha(raw):
                continue
        result.records[stage] = normalise(record)
        run = _json(_read(d / paths.run_file(stage)))
        if run:
            result.runs[stage] = run
        if stage == "evaluate":
            result.metrics = _json(_read(d / paths.METRICS))
        else:
            result.train_metrics = _json(_read(d / paths.TRAIN_METRICS))
    if not result.records:
        raise ReproError(f"{run_id}: the run has no lineage records among its artifacts")
    return result


def _read(p: Path) -> bytes | None:
    try:
        return p.read_bytes()
    except OSError:
        return None


# ----------------------------------------------------------------------------- ancestry


@dataclass
class Node:
    """One record in an ancestry tree, with the records it points to."""

    kind: str  # evaluate | train | prepare
    path: str
    record: dict[str, Any] | None
    run: dict[str, Any] | None = None
    matches: bool = True  # the file still has the sha256 it was pointed at with
    children: list[tuple[str, Node]] = field(default_factory=list)  # (role, node)
    repeat: bool = False  # already shown elsewhere in the tree


def _pointed(source: Source, ptr: dict | None, kind: str, seen: set[str]) -> Node | None:
    if not ptr or not ptr.get("path"):
        return None
    rel = ptr["path"]
    record, ok = source.record(rel, ptr.get("sha256"))
    run = None
    if record is not None and kind in STAGES:
        record = normalise(record)
        run = _json(source.read(str(Path(rel).with_name(paths.run_file(kind)))))
        if run and (run.get("record") or {}).get("sha256") != ptr.get("sha256"):
            run = None
    node = Node(kind, rel, record, run, ok)
    if rel in seen:
        node.repeat = True
    elif record is not None:
        seen.add(rel)
        node.children = _children(source, record, seen)
    return node


def _children(source: Source, record: dict[str, Any], seen: set[str]) -> list[tuple[str, Node]]:
    inputs = record.get("inputs") or {}
    out: list[tuple[str, Node]] = []
    for role, kind in (("model", "train"), ("data", "prepare"), ("base_model", "train")):
        item = inputs.get(role) or {}
        ptr = item.get("record")
        if ptr and Path(ptr.get("path", "")).name == paths.DATA_MANIFEST:
            kind = "manifest"
        node = _pointed(source, ptr, kind, seen)
        if node is not None:
            out.append((role, node))
    for item in inputs.get("reward_models") or []:  # GRPO: other specs' reward models
        node = _pointed(source, item.get("record"), "train", seen)
        if node is not None:
            out.append(("reward_model", node))
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


def describe(node: Node) -> list[str]:
    """The lines shown for one record in ``repro lineage``."""
    r = node.record
    if r is None:
        return [f"{node.kind} {node.path}: record not found"]
    stale = "" if node.matches else "  [CHANGED since it was pointed to]"
    if node.repeat:
        what = r.get("spec") or r.get("dataset") or ""
        return [f"{node.kind} {what}  ({node.path}, shown above){stale}"]
    lines: list[str] = []
    if node.kind == "manifest":
        return [f"data {node.path}  data {_h(r.get('data_hash'))}  raw "
                f"{_h(r.get('raw_hash') or r.get('raw_sha256'))}{stale}"]
    if node.kind == "prepare":
        raw = (r.get("inputs") or {}).get("raw") or {}
        lines.append(f"prepare {r.get('dataset')}  ({node.path}){stale}")
        lines.append(f"raw data: {raw.get('source')}  sha256 {_h(raw.get('sha256'))}")
        lines.append(f"prepared: data_hash {_h((r.get('outputs') or {}).get('data_hash'))}")
    else:
        lines.append(f"{node.kind} {r.get('spec')}  ({node.path}){stale}")
        lines.append(f"spec hash {_h(r.get('spec_hash'))}  seed "
                     f"{(r.get('determinism') or {}).get('seed')}  determinism "
                     f"{'full' if (r.get('determinism') or {}).get('full') else 'seeded'}")
        inputs = r.get("inputs") or {}
        base = inputs.get("base_model") or {}
        if base.get("kind") == "config":
            lines.append(f"base model: new, from a config  sha256 {_h(base.get('sha256'))}")
        elif base:
            lines.append(f"base model: {base.get('kind')} {base.get('ref')}"
                         f"{'@' + base['revision'] if base.get('revision') else ''}  "
                         f"sha256 {_h(base.get('sha256'))}")
        data = inputs.get("data") or {}
        if data:
            lines.append(f"data: {data.get('key')}  data_hash {_h(data.get('data_hash'))}  "
                         f"raw {_h(data.get('raw_sha256'))}")
        for path, sha in (r.get("outputs") or {}).items():
            lines.append(f"output: {path}  sha256 {_h(sha)}")
    code = r.get("code") or {}
    env = r.get("environment") or {}
    versions = env.get("versions") or {}
    shown = ", ".join(f"{k} {v}" for k, v in versions.items()
                      if v and k in ("torch", "transformers", "peft", "trl", "datasets"))
    lines.append(f"code: {len(code.get('sources') or {})} source files  sha256 "
                 f"{_h(code.get('sha256'))}")
    lines.append(f"environment: python {env.get('python')} {env.get('platform') or ''}; "
                 f"{shown}; {len(env.get('packages') or {})} packages "
                 f"({(env.get('lock') or {}).get('path') or env.get('source') or '?'} "
                 f"{_h((env.get('lock') or {}).get('sha256'))})")
    allowed = (r.get("determinism") or {}).get("allowed_nondeterminism") or []
    for a in allowed:
        lines.append(f"non-determinism allowed: {a}")
    run = node.run
    if run:
        git = run.get("git") or {}
        hw = run.get("hardware") or {}
        gpus = ", ".join(hw.get("gpus") or []) or "no GPU"
        lines.append(f"ran: {run.get('started')} for {run.get('duration_s')} s: "
                     f"{run.get('command') or r.get('command')}")
        lines.append(f"git: {_h(git.get('commit'))}"
                     f"{' (dirty, diff ' + _h(git.get('diff_sha256')) + ')' if git.get('dirty') else ' (clean)'}")
        lines.append(f"hardware: {hw.get('cpu')}, {hw.get('cpu_count')} CPUs, {gpus}"
                     f"{', driver ' + hw['gpu_driver'] if hw.get('gpu_driver') else ''}")
        mlflow = (run.get("tracking") or {}).get("mlflow_run_id")
        if mlflow:
            lines.append(f"mlflow run: {mlflow}")
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
        "record": node.record,
        "run": node.run,
        "inputs": {role: tree_json(child) for role, child in node.children},
    }
