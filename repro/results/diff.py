"""``repro diff A B``: every input that differs between two results, next to the metric deltas.

Each result is reduced to four flat maps:

- **inputs**, the causes: spec fields by path (``spec.train.optimizer.lr``), data fields
  (``data.split.test``) and the raw data's content hash, per role (the result itself,
  then ``base:`` for the spec its model was built on, ``base:base:`` ...); and over the
  whole ancestry the code (sha256 per source file), the environment (Python, platform,
  every package in ``env.lock``), the hardware and the relevant environment variables;
- **outputs**, what the inputs produced: prepared data hash, weights, metrics and log
  files (sha256), per role;
- **metrics**, the numbers in metrics.json and train_metrics.json;
- **provenance**, where the runs happened (git commit, dirty flag, diff hash, times,
  MLflow run ids): shown, never counted as an input, because the code that ran is
  already compared file by file, and a commit changes with every edit of a spec.

Identical inputs with different outputs is a reproducibility failure: said loudly, and
the exit code is 1. Reads records through ``repro.contract.records`` (pydantic), and PyYAML
for REV:path results: no ML stack.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from repro.contract.records import Manifest, StageLineage
from repro.results.ancestry import Node, ancestry, walk
from repro.results.result import Result

MISSING = None


def flatten(value: Any, prefix: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if isinstance(value, dict) and value:
        for k, v in value.items():
            out.update(flatten(v, f"{prefix}.{k}" if prefix else str(k)))
    else:
        out[prefix] = value
    return out


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
    # code and environment per record (by role path): compared over the records both sides
    # could read, since a source may not reach every record (MLflow has no prepare records)
    by_role: dict[str, dict[str, Any]] = field(default_factory=dict)


def _spec_inputs(params: dict | None, dataset: dict | None, prefix: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    params = dict(params or {})
    params.pop("data", None)  # the dataset key: a hash of the data section, compared below
    out.update(flatten(params, f"{prefix}spec"))
    dataset = dict(dataset or {})
    if dataset.get("seed") == params.get("seed"):
        dataset.pop("seed", None)  # the spec's seed, inherited: already compared
    out.update(flatten(dataset, f"{prefix}data"))
    return out


def _train_chain(result: Result, tree: Node) -> list[tuple[str, Node]]:
    """(prefix, train node) for the result's own train record and each base spec's."""
    out: list[tuple[str, Node]] = []
    if tree.kind == "train":
        node: Node | None = tree
    else:
        node = next((n for role, n in tree.children if role == "model"), None)
    prefix = ""
    while node is not None and node.record is not None:
        out.append((prefix, node))
        prefix += "base:"
        node = next((n for role, n in node.children if role == "base_model"), None)
    return out


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
        f.unknown.update({"code", "env", "hardware", "envvar"})
    f.inputs.update(_collapse(hw))
    f.inputs.update(_collapse(envvars))

    # per role: the spec, the data and its raw content, a non-spec base model
    if tree.record is None:
        f.inputs.update(_spec_inputs(result.spec_params(), result.dataset_params(), ""))
    else:
        f.inputs.update(_spec_inputs(result.spec_params(), result.dataset_params(), ""))
        own = tree.record
        _data_facts(f, own, "")
        _output_facts(f, tree, "")
    for prefix, node in _train_chain(result, tree):
        r = node.record
        if prefix:
            f.inputs.update(_spec_inputs(r.params, r.dataset, prefix))
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
    def identical_outputs(self) -> bool:
        return not self.outputs and all(m["a"] == m["b"] for m in self.metrics)

    @property
    def verdict(self) -> str:
        if self.identical_inputs and self.identical_outputs:
            return "identical"
        if self.identical_inputs:
            return "reproducibility failure"
        return "inputs differ"

    def as_dict(self) -> dict[str, Any]:
        return {
            "a": _side(self.a), "b": _side(self.b),
            "verdict": self.verdict,
            "identical_inputs": self.identical_inputs,
            "identical_outputs": self.identical_outputs,
            "inputs": self.inputs, "outputs": self.outputs, "metrics": self.metrics,
            "provenance": self.provenance, "not_compared": self.not_compared,
        }


def _side(r: Result) -> dict[str, Any]:
    return {"label": r.label, "spec": r.spec, "source": r.source.label,
            "stages": sorted(r.records), "notes": r.notes}


def _code_and_env(f: Facts, roles: set[str]) -> dict[str, Any]:
    """One value per code file and package over the records of ``roles``."""
    multi: dict[str, set] = {}
    for role in sorted(roles):
        for key, value in f.by_role[role].items():
            _merge_into(multi, key, value)
    return _collapse(multi)


def _group(key: str) -> str:
    return key.split(":")[-1].split(".")[0]


def compare(a: Result, b: Result) -> Diff:
    fa, fb = facts(a), facts(b)
    unknown = fa.unknown | fb.unknown
    roles = set(fa.by_role) & set(fb.by_role)
    fa.inputs.update(_code_and_env(fa, roles))
    fb.inputs.update(_code_and_env(fb, roles))
    one_sided = sorted(set(fa.by_role) ^ set(fb.by_role))
    inputs = []
    for key in sorted(set(fa.inputs) | set(fb.inputs)):
        if _group(key) in unknown:
            continue
        va, vb = fa.inputs.get(key, MISSING), fb.inputs.get(key, MISSING)
        if va != vb:
            inputs.append({"key": key, "a": va, "b": vb})
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
    not_compared = sorted(unknown) + [f"code and environment of {r} (one side only)"
                                      for r in one_sided]
    return Diff(a, b, inputs, outputs, metrics, provenance, not_compared)


# ----------------------------------------------------------------------------- text


def _short(v: Any, n: int = 40) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.6g}"
    s = str(v)
    if len(s) == 64 and all(c in "0123456789abcdef" for c in s):
        return s[:12]
    return s if len(s) <= n else s[: n - 1] + "…"


def render(d: Diff) -> str:
    from repro.ui import style, table

    lines = [f"A: {d.a.label}  ({d.a.source.label})", f"B: {d.b.label}  ({d.b.source.label})"]
    for side, r in (("A", d.a), ("B", d.b)):
        lines += [f"{side}: note: {n}" for n in r.notes]
    lines.append("")
    if d.inputs:
        lines.append(f"{len(d.inputs)} input(s) differ:")
        lines.append(table(["input", "A", "B"],
                           [[i["key"], _short(i["a"]), _short(i["b"])] for i in d.inputs]))
    else:
        lines.append("inputs: identical" + (f" (not compared: {', '.join(d.not_compared)})"
                                            if d.not_compared else ""))
    lines.append("")
    if d.outputs:
        lines.append(f"{len(d.outputs)} output(s) differ:")
        lines.append(table(["output", "A", "B"],
                           [[o["key"], _short(o["a"]), _short(o["b"])] for o in d.outputs]))
    else:
        lines.append("outputs: identical (weights, metrics and logs bit for bit)"
                     if d.a.records and d.b.records else "outputs: not compared")
    changed = [m for m in d.metrics if m["a"] != m["b"]]
    if d.metrics:
        lines.append("")
        rows = [[m["key"], _short(m["a"]), _short(m["b"]),
                 "" if m["delta"] is None or m["delta"] == 0 else f"{m['delta']:+.6g}"]
                for m in (changed or d.metrics)]
        lines.append("metrics" + ("" if changed else " (all equal)") + ":")
        lines.append(table(["metric", "A", "B", "delta"], rows, right={1, 2, 3}))
    if d.provenance:
        lines.append("")
        lines.append(style("provenance (not inputs: the code that ran is compared file by "
                           "file above):", "dim"))
        lines.append(table(["", "A", "B"],
                           [[p["key"], _short(p["a"]), _short(p["b"])] for p in d.provenance]))
    lines.append("")
    if d.verdict == "identical":
        lines.append(style("identical: same inputs, same outputs", "green"))
    elif d.verdict == "reproducibility failure":
        bar = "!" * 72
        lines += [style(bar, "red"),
                  style("REPRODUCIBILITY FAILURE: the inputs are identical but the outputs "
                        "differ", "red"),
                  style(bar, "red")]
    else:
        lines.append(f"{len(d.inputs)} input(s) differ; "
                     + ("outputs identical" if d.identical_outputs else "outputs differ"))
    return "\n".join(lines)
