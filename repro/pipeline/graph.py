"""Every spec as stages: the content-addressed data sets, then prepare, train and evaluate per spec.

The graph is a pure function of the validated specs and the code in the workspace: the
same specs give the same stages, keys and deps, in a fixed order. Each stage lists
exactly the params keys it reads and the source files it runs (``repro.contract.codedeps``).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from repro.contract import paths
from repro.contract.chat_templates import NAMED as NAMED_TEMPLATES
from repro.contract.chat_templates import template_hash as hash_template
from repro.contract.codedeps import stage_code
from repro.contract.fsio import canonical_json
from repro.errors import ReproError
from repro.spec.schema import (
    BuiltinSource,
    ConfigBase,
    HubBase,
    HubSource,
    PathBase,
    PathSource,
    SpecBase,
)
from repro.spec.workspace import Entry

GENERATED = {"repro": "generated"}
def short_hash(value: Any, n: int = 8) -> str:
    return hashlib.sha256(canonical_json(value).encode()).hexdigest()[:n]


@dataclass
class Stage:
    name: str
    cmd: str
    deps: list[str] = field(default_factory=list)
    params: list[str] = field(default_factory=list)
    outs: list[str] = field(default_factory=list)
    metrics: list[str] = field(default_factory=list)
    plots: list[dict[str, Any]] = field(default_factory=list)
    spec: str | None = None  # the spec it belongs to (None: a shared prepare stage)
    kind: str = ""

    def to_dvc(self) -> dict[str, Any]:
        out: dict[str, Any] = {"cmd": self.cmd}
        if self.deps:
            out["deps"] = list(self.deps)
        if self.params:
            out["params"] = list(self.params)
        if self.outs:
            out["outs"] = list(self.outs)
        if self.metrics:
            out["metrics"] = list(self.metrics)
        if self.plots:
            out["plots"] = list(self.plots)
        out["meta"] = dict(GENERATED)
        return out


@dataclass
class Graph:
    datasets: dict[str, dict[str, Any]]  # key -> resolved data section
    specs: dict[str, dict[str, Any]]  # name -> resolved spec params
    spec_data: dict[str, str]  # spec name -> dataset key
    stages: list[Stage]

    def stage(self, name: str) -> Stage:
        return next(s for s in self.stages if s.name == name)

    def spec_stages(self, spec: str) -> list[Stage]:
        key = self.spec_data[spec]
        return [s for s in self.stages if s.spec == spec or s.name == f"prepare-{key}"]

    def upstream(self, spec: str) -> set[str]:
        """Names of the stages a spec's evaluate stage needs, its own included (transitively)."""
        out: set[str] = set()
        todo, seen = [spec], set()
        while todo:
            name = todo.pop()
            if name in seen or name not in self.specs:
                continue
            # a base spec is needed for its model: its prepare and train, not its evaluate
            out.update(s.name for s in self.spec_stages(name)
                       if name == spec or s.kind != "evaluate")
            seen.add(name)
            todo.extend(spec_refs(self.specs[name]))
            if name == spec:  # a gate against another spec reads its evaluate stage's metrics
                for ref in {g["against"] for g in self.specs[name]["evaluate"].get("gates", [])
                            if g.get("against") and g["against"] in self.specs}:
                    out |= self.upstream(ref)
        return out


def spec_refs(params: dict[str, Any]) -> list[str]:
    """The specs a compiled spec entry needs trained first: its base, its reward models and
    its distillation teacher."""
    reward = params["train"].get("reward")
    rewards = reward if isinstance(reward, list) else [reward]
    teacher = params["model"].get("teacher")
    return [ref["spec"] for ref in (params["model"]["base"], *rewards, teacher)
            if isinstance(ref, dict) and "spec" in ref]


# ----------------------------------------------------------------------------- graph


def _label(source: Any) -> str:
    if isinstance(source, BuiltinSource):
        raw = source.builtin
    elif isinstance(source, PathSource):
        raw = Path(source.path.rstrip("/")).stem
    elif isinstance(source, HubSource):
        raw = source.hub.split("/")[-1]
    else:
        raw = "data"
    label = re.sub(r"[^A-Za-z0-9_-]+", "-", raw).strip("-") or "data"
    return label[:40]


NOT_IN_KEY = ("workers",)  # data settings that do not change the prepared bytes


def resolve_dataset(entry: Entry) -> dict[str, Any]:
    spec = entry.spec
    assert spec is not None
    data = spec.data.model_dump(mode="json")
    if data["seed"] is None:
        data["seed"] = spec.seed
    return data


def _path_dep(rel: str) -> str:
    """A data path as a DVC dependency: external data is pinned in the workspace config."""
    if rel.startswith(paths.EXTERNAL_PREFIX):
        return paths.WORKSPACE_CONFIG
    return rel.rstrip("/")


def tokenizer_from(entry: Entry, spec_data: dict[str, str]) -> dict[str, Any] | None:
    """Where a data set's tokenizer comes from when the spec does not train one: the
    prepared data set of its base spec, a local model folder, or a hub model."""
    spec = entry.spec
    assert spec is not None
    if spec.data.tokenizer is not None:
        return None
    base = spec.model.base
    if isinstance(base, SpecBase):
        return {"data": spec_data[base.spec]} if base.spec in spec_data else None
    teacher = spec.model.teacher
    if isinstance(base, ConfigBase) and teacher is not None:  # a new student: the teacher's
        return {"data": spec_data[teacher.spec]} if teacher.spec in spec_data else None
    if isinstance(base, PathBase):
        return {"path": base.path.rstrip("/")}
    if isinstance(base, HubBase):
        return {"hub": base.hub, "revision": base.revision}
    return None


def template_hash(root: Path, template: Any) -> str | None:
    """The hash of a data section's chat template text (a name, inline Jinja or a file);
    None without one (so the keys of data sets without a template stay as they were)."""
    if template is None:
        return None
    if isinstance(template, dict):
        return hash_template((root / template["file"]).read_text(encoding="utf-8"))
    return hash_template(NAMED_TEMPLATES.get(template, template))


def dataset_key(entry: Entry, data: dict[str, Any]) -> str:
    """``<label>-<hash8>``: the same data section and tokenizer give the same key."""
    assert entry.spec is not None
    return f"{_label(entry.spec.data.source)}-" + short_hash(
        {k: v for k, v in data.items() if k not in NOT_IN_KEY}
    )


def resolve_params(entry: Entry, key: str) -> dict[str, Any]:
    spec = entry.spec
    assert spec is not None
    dumped = spec.model_dump(mode="json", exclude={"spec_version", "name", "description"})
    dumped["data"] = key
    if dumped["model"].get("teacher") is None:  # params of specs without one stay as they were
        dumped["model"].pop("teacher", None)
    train = dumped["train"]
    dumped["train"] = {"method": train.pop("method"), **train}
    ordered = {
        k: dumped[k] for k in ("seed", "determinism", "data", "model", "train", "evaluate", "tracking")
    }
    if dumped.get("human_eval") is not None:  # absent otherwise: other specs' params unchanged
        ordered["human_eval"] = dumped["human_eval"]
    if spec.search is not None:
        from repro.search.study import resolve_search

        ordered["search"] = resolve_search(spec)
    return ordered


def _order(entries: list[Entry]) -> list[Entry]:
    """Specs in dependency order (a base spec before the specs built on it), then by name."""
    by_name = {e.name: e for e in entries}
    out: list[Entry] = []
    done: set[str] = set()

    def visit(e: Entry) -> None:
        if e.name in done:
            return
        done.add(e.name)
        for _, ref in e.spec.spec_refs():
            if ref in by_name:
                visit(by_name[ref])
        out.append(e)

    for e in sorted(entries, key=lambda e: e.name):
        visit(e)
    return out


def build_graph(root: Path, entries: list[Entry]) -> Graph:
    bad = [e for e in entries if not e.ok]
    if bad:
        raise ReproError(
            f"{len(bad)} spec(s) have errors; run 'repro validate' to see them: "
            + ", ".join(e.file for e in bad)
        )
    datasets: dict[str, dict[str, Any]] = {}
    spec_data: dict[str, str] = {}
    for e in _order(entries):  # a base spec's data set is keyed before its children's
        data = resolve_dataset(e)
        data["tokenizer_from"] = tokenizer_from(e, spec_data)
        if data["chat_template"] is not None:  # the template's text, not only its name
            data["chat_template_hash"] = template_hash(root, data["chat_template"])
        key = dataset_key(e, data)
        datasets[key] = data
        spec_data[e.name] = key

    deps = {kind: [*stage_code(root, kind), paths.ENV_LOCK] for kind in ("prepare", "evaluate")}
    stages: list[Stage] = []
    for key in sorted(datasets):
        src, tok = datasets[key]["source"], datasets[key]["tokenizer_from"] or {}
        data_deps = [_path_dep(src["path"])] if "path" in src else []
        template = datasets[key]["chat_template"]
        if isinstance(template, dict):
            data_deps.append(template["file"])
        if "data" in tok:
            data_deps.append(str(paths.data_dir(tok["data"])))
        elif "path" in tok:
            data_deps.append(tok["path"])
        stages.append(Stage(
            name=f"prepare-{key}",
            cmd=f"python -m runners.prepare {key}",
            deps=sorted(data_deps + deps["prepare"]),
            params=[f"datasets.{key}"],
            outs=[str(paths.data_dir(key))],
            kind="prepare",
        ))

    specs: dict[str, dict[str, Any]] = {}
    for e in _order(entries):
        name, spec = e.name, e.spec
        key = spec_data[name]
        specs[name] = resolve_params(e, key)
        base = spec.model.base
        base_deps: list[str] = []
        if isinstance(base, SpecBase):
            # the model, and the record that says where it came from (lineage points to it)
            base_deps = [str(paths.model_dir(base.spec)),
                         str(paths.spec_dir(base.spec) / paths.TRAIN_LINEAGE)]
        elif isinstance(base, PathBase):
            base_deps = [base.path.rstrip("/")]
        # a reward model (grpo, rloo) or a teacher (distill) another spec trains: the
        # train stage reads it
        reward_deps = [dep for path, ref in spec.spec_refs()
                       if path[0] == "train" or path[:2] == ("model", "teacher")
                       for dep in (str(paths.model_dir(ref)),
                                   str(paths.spec_dir(ref) / paths.TRAIN_LINEAGE))]
        p = f"specs.{name}"
        d = paths.spec_dir(name)
        if spec.search is not None:  # one sweep stage trains and evaluates every trial
            from repro.search.study import search_stage

            stages.append(search_stage(root, name, spec, key, [*base_deps, *reward_deps]))
            continue
        launch, launch_deps = train_command(spec.train, name)
        stages.append(Stage(
            name=f"train-{name}",
            cmd=launch,
            deps=sorted({str(paths.data_dir(key)), *base_deps, *reward_deps, *launch_deps,
                         *stage_code(root, "train", spec.train.method), paths.ENV_LOCK}),
            params=[f"{p}.seed", f"{p}.determinism", f"{p}.data", f"{p}.model", f"{p}.train",
                    f"{p}.tracking"],
            # the train log is drawn by the top-level plots (repro/pipeline/plots.py)
            outs=[str(paths.model_dir(name)), str(d / paths.TRAIN_LINEAGE),
                  str(d / paths.TRAIN_LOG)],
            metrics=[str(d / paths.TRAIN_METRICS)],
            spec=name,
            kind="train",
        ))
        stages.append(Stage(
            name=f"evaluate-{name}",
            cmd=f"python -m runners.evaluate {name}",
            deps=sorted({str(paths.data_dir(key)), str(paths.model_dir(name)),
                         str(d / paths.TRAIN_LINEAGE), *base_deps, *deps["evaluate"],
                         *evaluate_inputs(root, spec)}),
            params=[f"{p}.seed", f"{p}.determinism", f"{p}.data", f"{p}.model", f"{p}.evaluate",
                    f"{p}.tracking"],
            outs=[str(d / paths.EVAL_LINEAGE)],
            metrics=[str(d / paths.METRICS)]
            + ([str(d / paths.GATES)] if spec.evaluate.gates else []),
            spec=name,
            kind="evaluate",
        ))
        human = human_stage(root, name, spec)
        if human is not None:
            stages.append(human)
    return Graph(datasets=datasets, specs=specs, spec_data=spec_data, stages=stages)


def human_stage(root: Path, name: str, spec: Any) -> Stage | None:
    """The scoring stage of a ``human_eval`` section, once its sheet has judgments (before
    that there is nothing to score, and DVC would refuse a missing dependency)."""
    from repro.contract.records.human import JUDGMENTS_DIR, KEY_FILE

    human = spec.human_eval
    if human is None:
        return None
    sheet = human.sheet
    if not (root / sheet / KEY_FILE).is_file() or not any((root / sheet / JUDGMENTS_DIR).glob("*.json")):
        return None
    d = paths.spec_dir(name)
    return Stage(
        name=f"human-eval-{name}",
        cmd=f"python -m runners.human_eval {name}",
        deps=sorted({f"{sheet}/{KEY_FILE}", f"{sheet}/{JUDGMENTS_DIR}",
                     *stage_code(root, "human_eval"), paths.ENV_LOCK}),
        params=[f"specs.{name}.human_eval", f"specs.{name}.tracking"],
        outs=[str(d / paths.HUMAN_LINEAGE)],
        metrics=[str(d / paths.HUMAN_METRICS)],
        spec=name,
        kind="human_eval",
    )


def evaluate_inputs(root: Path, spec: Any) -> list[str]:
    """What an evaluate stage reads besides the model and data: task files and their data
    files, custom metric modules, and the metrics of the specs its gates compare against."""
    from repro.spec.tasks import data_files, load_task

    ev = spec.evaluate
    out = [c.path.rstrip("/") for c in ev.custom]
    for t in ev.tasks:
        out += [t.path, *data_files(load_task(root, t.path))]
    out += [str(paths.spec_dir(g.against) / paths.METRICS) for g in ev.gates if g.against]
    return out


def train_command(train: Any, name: str) -> tuple[str, list[str]]:
    """The train stage's command and its extra deps: ``python -m runners.train NAME``, or
    ``accelerate launch ... -m runners.train NAME`` when ``train.distributed`` is set."""
    dist = train.distributed
    if dist is None:
        return f"python -m runners.train {name}", []
    args = ["accelerate", "launch"]
    if dist.config_file is not None:
        args += ["--config_file", dist.config_file]
    args += ["--num_machines", "1", "--num_processes", str(dist.processes)]
    if dist.config_file is None and dist.processes > 1:
        # torchrun under the hood; on a machine without CUDA (or with cpu: true) the
        # runner asks Accelerator for CPU processes, which then talk over gloo
        args += ["--multi_gpu"]
    args += ["--mixed_precision", "no", "--dynamo_backend", "no", "-m", "runners.train", name]
    return " ".join(args), [dist.config_file] if dist.config_file else []
