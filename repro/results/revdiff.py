"""``repro diff REV [REV]``: every result added, removed or changed between two revisions.

For each spec of either revision (``repro.results.snapshot``), the inputs it is built from,
as the revision declares them: its resolved spec and data set, its base specs' (collapsed
under ``base NAME``), the content of every code and data file its stages and their upstream
stages depend on, and the packages of ``env.lock``. A result *changed* when an input differs,
or when both revisions built the same inputs into different outputs (a reproducibility
failure: exit 1). Outputs and metrics come from ``dvc.lock`` and the DVC cache, only where
that revision's ``dvc.lock`` records a build of exactly these inputs (fresh).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from repro.contract import paths
from repro.results.causes import flatten, group, group_rank, spec_inputs
from repro.results.snapshot import Snapshot, snapshot
from repro.results.sources import json_object
from repro.results.unbuilt import catalog_lookup, upstream_specs

CODE_DIRS = ("repro/", "runners/")


def own_stages(snap: Snapshot, name: str) -> list[str]:
    """The stages that read the spec's own params (train-NAME, evaluate-NAME, ...)."""
    prefix = f"specs.{name}."
    return [s.name for s in snap.stages.values()
            if any(p == f"specs.{name}" or p.startswith(prefix) for p in s.params)]


def _packages(snap: Snapshot) -> dict[str, str]:
    raw = snap.texts.get(paths.ENV_LOCK) or b""
    out = {}
    for line in raw.decode("utf-8", "replace").splitlines():
        name, sep, version = line.strip().partition("==")
        if sep and not line.startswith("#"):
            out[f"env.{name}"] = version
    return out


def inputs(snap: Snapshot, name: str, packages: bool) -> dict[str, Any]:
    spec = snap.specs[name]
    out = spec_inputs(spec, snap.datasets.get(spec.get("data")), "")
    for prefix, _, other, dataset in upstream_specs(spec, catalog_lookup(snap.params))[0]:
        out.update(spec_inputs(other, dataset, prefix))
    env = False
    for st in snap.upstream(own_stages(snap, name)):
        for dep in snap.stages[st].deps:
            if snap.producer(dep) is not None:
                continue
            if dep == paths.ENV_LOCK:
                env = True
            elif dep.endswith(".py") or dep.startswith(CODE_DIRS):
                out[f"code.{dep}"] = snap.files.get(dep)
            else:
                out[f"data.file {dep}"] = snap.files.get(dep)
    if env and packages:
        out.update(_packages(snap))
    return out


@dataclass
class Built:
    """What a revision's ``dvc.lock`` says about one result."""

    state: str  # fresh | stale | unbuilt
    outputs: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] | None = None  # None: not readable here


def built(snap: Snapshot, name: str) -> Built:
    stages = own_stages(snap, name)
    if not stages or not any(s in snap.lock for s in stages):
        return Built("unbuilt")
    if not all(snap.fresh(s) for s in stages):
        return Built("stale")
    b = Built("fresh")
    metrics: dict[str, float] = {}
    readable = False  # a metrics file the cache (or workspace) still has
    for st in stages:
        kind = st.split("-", 1)[0]
        for path, md5 in snap.lock_outs(st).items():
            b.outputs[f"{kind}:{Path(path).name}"] = md5
            fname = Path(path).name
            if fname in (paths.METRICS, paths.TRAIN_METRICS):
                value = json_object(snap.read_out(md5, path))
                if value is None:
                    continue
                readable = True
                prefix = "metrics" if fname == paths.METRICS else "train"
                metrics.update({k: v for k, v in flatten(value, prefix).items()
                                if isinstance(v, (int, float)) and not isinstance(v, bool)})
    b.metrics = metrics if readable else None
    return b


@dataclass
class Change:
    spec: str
    status: str  # added | removed | changed | unchanged
    verdict: str  # inputs differ | reproducibility failure | added | removed | unchanged
    inputs: list[dict[str, Any]] = field(default_factory=list)
    outputs: list[dict[str, Any]] = field(default_factory=list)
    metrics: list[dict[str, Any]] = field(default_factory=list)
    built_a: str = "-"
    built_b: str = "-"
    notes: list[str] = field(default_factory=list)

    def groups(self) -> dict[str, list[dict[str, Any]]]:
        out: dict[str, list[dict[str, Any]]] = {}
        for row in self.inputs:
            out.setdefault(row["group"], []).append(row)
        return dict(sorted(out.items(), key=lambda kv: group_rank(kv[0])))

    def as_dict(self) -> dict[str, Any]:
        return {"spec": self.spec, "status": self.status, "verdict": self.verdict,
                "causes": {g: [row["key"] for row in r] for g, r in self.groups().items()},
                "inputs": self.inputs, "outputs": self.outputs, "metrics": self.metrics,
                "built": {"a": self.built_a, "b": self.built_b}, "notes": self.notes}


@dataclass
class RevDiff:
    a: Snapshot
    b: Snapshot
    changes: list[Change]

    @property
    def failures(self) -> list[Change]:
        return [c for c in self.changes if c.verdict == "reproducibility failure"]

    def listed(self) -> list[Change]:
        return [c for c in self.changes if c.status != "unchanged"]

    def as_dict(self) -> dict[str, Any]:
        from repro.results.revview import verdict_line

        return {"a": {"label": self.a.label, "commit": self.a.commit, "notes": self.a.notes},
                "b": {"label": self.b.label, "commit": self.b.commit, "notes": self.b.notes},
                "verdict_line": verdict_line(self),
                "not_compared": why_not_compared(self),
                "results": [c.as_dict() for c in self.changes]}


WHY = {
    "stale": ("its dvc.lock records a build of older inputs",
              "`repro run {specs}` there, then commit dvc.lock"),
    "unbuilt": ("its dvc.lock has no build", "`repro run {specs}` there"),
    "missing": ("built, but the outputs are not in the local DVC cache",
                "`dvc fetch --all-commits`, or `dvc pull` on a checkout of it"),
}


def why_not_compared(d: RevDiff) -> list[dict[str, Any]]:
    """Per side and reason, the listed results whose outputs could not be compared."""
    out = []
    for side, snap, attr in (("A", d.a, "built_a"), ("B", d.b, "built_b")):
        for state, (why, how) in WHY.items():
            specs = [c.spec for c in d.listed() if getattr(c, attr) == state]
            if specs:
                if snap.commit is None:
                    how = how.replace(" there", "").replace(", then commit dvc.lock", "")
                    how = how.replace("`dvc fetch --all-commits`, or `dvc pull` on a checkout "
                                      "of it", "`dvc pull`")
                out.append({"side": side, "label": snap.label, "state": state, "why": why,
                            "how": how.format(specs=" ".join(specs)), "specs": specs})
    return out


def _state(b: Built) -> str:
    return "missing" if b.state == "fresh" and b.metrics is None else b.state


def _compare_one(a: Snapshot, b: Snapshot, name: str, packages: bool) -> Change:
    if name not in a.specs or name not in b.specs:
        snap, status = (b, "added") if name not in a.specs else (a, "removed")
        got = built(snap, name)
        c = Change(name, status, status)
        setattr(c, "built_b" if status == "added" else "built_a", _state(got))
        if got.metrics:
            c.metrics = [{"key": k, "a": None if status == "added" else v,
                          "b": v if status == "added" else None, "delta": None}
                         for k, v in sorted(got.metrics.items())]
        return c
    ia, ib = inputs(a, name, packages), inputs(b, name, packages)
    rows = [{"key": k, "group": group(k), "a": ia.get(k), "b": ib.get(k)}
            for k in sorted(set(ia) | set(ib)) if ia.get(k) != ib.get(k)]
    ba, bb = built(a, name), built(b, name)
    c = Change(name, "changed" if rows else "unchanged",
               "inputs differ" if rows else "unchanged", rows,
               built_a=_state(ba), built_b=_state(bb))
    if ba.state == bb.state == "fresh":
        c.outputs = [{"key": k, "a": ba.outputs.get(k), "b": bb.outputs.get(k)}
                     for k in sorted(set(ba.outputs) | set(bb.outputs))
                     if ba.outputs.get(k) != bb.outputs.get(k)]
        if c.outputs and not rows:
            c.status, c.verdict = "changed", "reproducibility failure"
            c.notes.append("dvc.lock does not record the hardware: compare the run records "
                           f"with `repro diff {a.commit or ''}:specs/{name}.yaml "
                           f"{b.commit or ''}:specs/{name}.yaml` where they are built")
    if ba.metrics is not None and bb.metrics is not None:
        c.metrics = [{"key": k, "a": ba.metrics.get(k), "b": bb.metrics.get(k),
                      "delta": (bb.metrics[k] - ba.metrics[k])
                      if k in ba.metrics and k in bb.metrics else None}
                     for k in sorted(set(ba.metrics) | set(bb.metrics))
                     if ba.metrics.get(k) != bb.metrics.get(k)]
    return c


def compare_revisions(root: Path, rev_a: str, rev_b: str | None) -> RevDiff:
    """Every spec of either revision; ``rev_b`` None is the workspace."""
    a, b = snapshot(root, rev_a), snapshot(root, rev_b)
    packages = a.texts.get(paths.ENV_LOCK) != b.texts.get(paths.ENV_LOCK)
    names = sorted(set(a.specs) | set(b.specs))
    return RevDiff(a, b, [_compare_one(a, b, n, packages) for n in names])
