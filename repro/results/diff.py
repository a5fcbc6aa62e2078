"""``repro diff A B``: every input that differs between two results, next to the metric deltas.

Each result is reduced to four flat maps:

- **inputs**, the causes: spec fields by path (``spec.train.optimizer.lr``), data fields
  (``data.split.test``) and the raw data's content hash; the same for each base spec up the
  chain, prefixed with its name (``base:tiny-pretrain:spec.train.max_steps``, shown under the
  cause ``base tiny-pretrain``); and over the whole ancestry the code (sha256 per source
  file), the environment (Python, platform, every package in ``env.lock``), the hardware and
  the relevant environment variables;
- **outputs**, what the inputs produced: prepared data hash, weights, metrics and log
  files (sha256), per role;
- **metrics**, the numbers in metrics.json and train_metrics.json;
- **provenance**, where the runs happened (git commit, dirty flag, diff hash, times,
  MLflow run ids): shown, never counted as an input, because the code that ran is
  already compared file by file, and a commit changes with every edit of a spec.

Like with like: a result without lineage records is known by its spec alone (its base chain
resolved from specs, ``repro.results.unbuilt``), so what only a build records (code,
packages, hardware, content hashes) is not compared for either side. Identical inputs with
different outputs is a reproducibility failure: said loudly, and the exit code is 1. Reads
records through ``repro.contract.records`` (pydantic), and PyYAML for REV:path results: no
ML stack. The text view is ``repro.results.diffview``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from repro.contract.records import Manifest, StageLineage
from repro.results.ancestry import Node, ancestry, walk
from repro.results.causes import category, flatten, group, group_rank, spec_inputs
from repro.results.result import Result

MISSING = None


def _merge_into(dst: dict[str, set], key: str, value: Any) -> None:
    if value is None:
        return
    dst.setdefault(key, set()).add(value if isinstance(value, (str, int, float, bool))
                                   else repr(value))


def _collapse(multi: dict[str, set]) -> dict[str, Any]:
    """One value per key; a key whose records disagree keeps every value, sorted."""
    return {k: (next(iter(v)) if len(v) == 1 else " | ".join(sorted(map(str, v))))
            for k, v in multi.items()}


@dataclass
class Facts:
    inputs: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)
    unknown: set[str] = field(default_factory=set)  # input groups one side could not say
    unresolved: set[str] = field(default_factory=set)  # specs it names but could not read
    # code and environment per record (by role path): compared over the records both sides
    # could read, since a source may not reach every record (MLflow has no prepare records)
    by_role: dict[str, dict[str, Any]] = field(default_factory=dict)


def _train_chain(result: Result, tree: Node) -> list[tuple[str, Node]]:
    """(prefix, train node) for the result's own train record and each base spec's; a base
    spec's prefix names it: ``base:tiny-pretrain:``."""
    out: list[tuple[str, Node]] = []
    if tree.kind == "train":
        node: Node | None = tree
    else:
        node = next((n for role, n in tree.children if role == "model"), None)
    prefix = ""
    while node is not None and isinstance(node.record, StageLineage):
        out.append((prefix, node))
        node = next((n for role, n in node.children if role == "base_model"), None)
        if node is not None and isinstance(node.record, StageLineage):
            prefix = f"base:{node.record.spec}:"
    return out


def _upstream_inputs(f: Facts, result: Result, tree: Node) -> None:
    """The fields of every spec the result is built from or uses: from their records where
    the ancestry reaches them, else resolved from specs (an unbuilt result, or a record not
    here), so both sides know the same things."""
    from repro.results.unbuilt import catalog_lookup, upstream_specs

    known = {n.record.spec: (n.record.params, n.record.dataset) for _, n in walk(tree)
             if n.kind == "train" and isinstance(n.record, StageLineage) and not n.repeat}
    catalog: list[Any] = []

    def lookup(name: str):
        if name in known:
            return known[name]
        if not catalog:
            catalog.append(result.catalog or result.source.params() or {})
        return catalog_lookup(catalog[0])(name)

    found, f.unresolved = upstream_specs(result.spec_params(), lookup)
    for prefix, _, spec, dataset in found:
        f.inputs.update(spec_inputs(spec, dataset, prefix))


def facts(result: Result) -> Facts:
    f = Facts()
    tree = ancestry(result)
    hw: dict[str, set] = {}
    envvars: dict[str, set] = {}
    have_runs = have_records = False
    for role, node in walk(tree):
        r = node.record
        if r is None or node.repeat:
            continue
        have_records = True
        if not isinstance(r, Manifest):
            e = r.environment
            f.by_role[role] = {
                **{f"code.{path}": digest for path, digest in r.code.sources.items()},
                "env.python": e.python, "env.platform": e.platform,
                **{f"env.{name}": version for name, version in e.packages.items()},
            }
        run = node.run
        if run:
            have_runs = True
            for k, v in run.hardware.model_dump(exclude_unset=True).items():
                _merge_into(hw, f"hardware.{k}", v if not isinstance(v, list) else ", ".join(v))
            for k, v in run.env_vars.items():
                _merge_into(envvars, f"envvar.{k}", v)
            where = role.replace("result/", "").replace("/", ".")
            f.provenance[f"{where}.git.commit"] = run.git.commit
            f.provenance[f"{where}.git.dirty"] = run.git.dirty
            f.provenance[f"{where}.git.diff_sha256"] = run.git.diff_sha256
            f.provenance[f"{where}.started"] = run.started
            f.provenance[f"{where}.duration_s"] = run.duration_s
            f.provenance[f"{where}.mlflow_run_id"] = run.tracking.mlflow_run_id
    if not have_runs:
        f.unknown.update({"hardware", "envvar"})
    if not have_records:
        # known from a spec: its fields, its data's fields, its base chain's; not what a
        # build records (code, packages, hardware, content hashes)
        f.unknown.update({"code", "env", "hardware", "envvar", "raw", "base_model"})
    f.inputs.update(_collapse(hw))
    f.inputs.update(_collapse(envvars))

    # per spec up the chain: the spec, the data and its raw content, a non-spec base model
    f.inputs.update(spec_inputs(result.spec_params(), result.dataset_params(), ""))
    if tree.record is not None:
        _data_facts(f, tree.record, "")
        _output_facts(f, tree, "")
    chain = _train_chain(result, tree)
    for prefix, node in chain:
        r = node.record
        _data_facts(f, r, prefix)
        _output_facts(f, node, prefix)
        base = r.inputs.base_model
        if base is not None and base.kind in ("hub", "path", "config"):
            f.inputs[f"{prefix}base_model.{base.kind}"] = base.ref
            f.inputs[f"{prefix}base_model.revision"] = base.revision
            f.inputs[f"{prefix}base_model.sha256"] = base.sha256
        teacher = r.inputs.teacher  # distillation: the teacher model, by content
        if teacher is not None:
            f.inputs[f"{prefix}teacher.spec"] = teacher.spec
            f.inputs[f"{prefix}teacher.sha256"] = teacher.sha256
    _upstream_inputs(f, result, tree)
    f.metrics.update({k: v for k, v in flatten(result.metrics or {}, "metrics").items()
                      if isinstance(v, (int, float)) and not isinstance(v, bool)})
    f.metrics.update({k: v for k, v in flatten(result.train_metrics or {}, "train").items()
                      if isinstance(v, (int, float)) and not isinstance(v, bool)})
    return f


def _data_facts(f: Facts, record: StageLineage, prefix: str) -> None:
    data = record.inputs.data
    if data is not None and data.raw_hash:
        f.inputs[f"{prefix}data.raw_hash"] = data.raw_hash
    if data is not None and data.data_hash:
        f.outputs[f"{prefix}data.prepared_hash"] = data.data_hash


def _output_facts(f: Facts, node: Node, prefix: str) -> None:
    record = node.record
    if not isinstance(record, StageLineage):
        return
    for path, digest in record.outputs.items():
        f.outputs[f"{prefix}{node.kind}:{path.rsplit('/', 1)[-1]}"] = digest


# ----------------------------------------------------------------------------- comparing


@dataclass
class Diff:
    a: Result
    b: Result
    inputs: list[dict[str, Any]]
    outputs: list[dict[str, Any]]
    metrics: list[dict[str, Any]]
    provenance: list[dict[str, Any]]
    not_compared: list[str]

    @property
    def identical_inputs(self) -> bool:
        return not self.inputs

    @property
    def outputs_compared(self) -> bool:
        return bool(self.a.records and self.b.records)

    @property
    def identical_outputs(self) -> bool:
        return (self.outputs_compared and not self.outputs
                and all(m["a"] == m["b"] for m in self.metrics))

    @property
    def unbuilt(self) -> list[tuple[str, Result]]:
        """The sides without lineage records ("A", result), compared by their spec."""
        return [(side, r) for side, r in (("A", self.a), ("B", self.b)) if not r.records]

    @property
    def verdict(self) -> str:
        if self.inputs:
            return "inputs differ"
        if not self.outputs_compared:
            return "outputs not compared"
        if self.identical_outputs:
            return "identical"
        return "reproducibility failure"

    def groups(self) -> dict[str, list[dict[str, Any]]]:
        """The differing inputs by cause, in a fixed order."""
        out: dict[str, list[dict[str, Any]]] = {}
        for row in self.inputs:
            out.setdefault(row["group"], []).append(row)
        return dict(sorted(out.items(), key=lambda kv: group_rank(kv[0])))

    def as_dict(self) -> dict[str, Any]:
        from repro.results.diffview import verdict_line

        return {
            "a": _side(self.a), "b": _side(self.b),
            "verdict": self.verdict,
            "verdict_line": verdict_line(self),
            "identical_inputs": self.identical_inputs,
            "outputs_compared": self.outputs_compared,
            "identical_outputs": self.identical_outputs,
            "causes": {g: [r["key"] for r in rows] for g, rows in self.groups().items()},
            "inputs": [{k: v for k, v in row.items() if k != "group"} for row in self.inputs],
            "outputs": self.outputs, "metrics": self.metrics,
            "provenance": self.provenance, "not_compared": self.not_compared,
        }


def _side(r: Result) -> dict[str, Any]:
    return {"label": r.label, "spec": r.spec, "source": r.source.label,
            "stages": sorted(r.records), "built": bool(r.records),
            "missing": r.missing, "remedy": r.remedy, "notes": r.notes}


def _code_and_env(f: Facts, roles: set[str]) -> dict[str, Any]:
    """One value per code file and package over the records of ``roles``."""
    multi: dict[str, set] = {}
    for role in sorted(roles):
        for key, value in f.by_role[role].items():
            _merge_into(multi, key, value)
    return _collapse(multi)


NOT_KNOWN = {"code": "code", "env": "packages", "hardware": "hardware",
             "envvar": "environment variables", "raw": "raw data hashes",
             "base_model": "base model hashes"}


def compare(a: Result, b: Result) -> Diff:
    fa, fb = facts(a), facts(b)
    unknown = fa.unknown | fb.unknown
    roles = set(fa.by_role) & set(fb.by_role)
    fa.inputs.update(_code_and_env(fa, roles))
    fb.inputs.update(_code_and_env(fb, roles))
    one_sided = sorted(set(fa.by_role) ^ set(fb.by_role)) if a.records and b.records else []
    unread = fa.unresolved | fb.unresolved
    inputs = []
    for key in sorted(set(fa.inputs) | set(fb.inputs)):
        if category(key) in unknown or (":" in key and key.split(":")[1] in unread):
            continue
        va, vb = fa.inputs.get(key, MISSING), fb.inputs.get(key, MISSING)
        if va != vb:
            inputs.append({"key": key, "group": group(key), "a": va, "b": vb})
    outputs = []
    for key in sorted(set(fa.outputs) & set(fb.outputs)):
        if fa.outputs[key] != fb.outputs[key]:
            outputs.append({"key": key, "a": fa.outputs[key], "b": fb.outputs[key]})
    metrics = []
    for key in sorted(set(fa.metrics) | set(fb.metrics)):
        va, vb = fa.metrics.get(key), fb.metrics.get(key)
        delta = (vb - va) if va is not None and vb is not None else None
        metrics.append({"key": key, "a": va, "b": vb, "delta": delta})
    provenance = [
        {"key": k, "a": fa.provenance.get(k), "b": fb.provenance.get(k)}
        for k in sorted(set(fa.provenance) | set(fb.provenance))
        if fa.provenance.get(k) != fb.provenance.get(k)
    ]
    not_compared = [NOT_KNOWN.get(u, u) for u in sorted(unknown)]
    not_compared += [f"code and environment of {r} (one side only)" for r in one_sided]
    not_compared += [f"spec {n} (one side cannot read it)" for n in sorted(unread)]
    return Diff(a, b, inputs, outputs, metrics, provenance, not_compared)


def render(d: Diff, expand: bool = False, verdict: bool = True) -> str:
    from repro.results.diffview import render as _render

    return _render(d, expand=expand, verdict=verdict)
