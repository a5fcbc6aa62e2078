"""Compile every spec into one stage graph, then into ``dvc.yaml`` and ``params.yaml``.

Output is byte-identical for identical input: stages and keys come out in a fixed
order and nothing time- or machine-dependent is written. Stages written by hand in
``dvc.yaml`` (those without ``meta: {repro: generated}``) and params of your own in
``params.yaml`` (top-level keys other than ``datasets`` and ``specs``) are kept.
"""

from __future__ import annotations

import hashlib
import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from repro.contract import paths
from repro.contract.codedeps import code_deps
from repro.contract.fsio import canonical_json
from repro.errors import ReproError
from repro.spec.schema import BuiltinSource, HubBase, HubSource, PathBase, PathSource, SpecBase
from repro.spec.workspace import Entry

GENERATED = {"repro": "generated"}
HEADER = (
    "# Compiled by `repro compile` from specs/*.yaml. Do not edit generated stages\n"
    "# (meta: {repro: generated}); they are rewritten on every compile. Stages you add\n"
    "# by hand are kept.\n"
)
PARAMS_HEADER = (
    "# Compiled by `repro compile` from specs/*.yaml: the resolved specs, read by the\n"
    "# stages in dvc.yaml. The 'datasets' and 'specs' keys are rewritten on every compile;\n"
    "# other top-level keys are yours and are kept.\n"
)
OWNED_PARAMS = ("datasets", "specs")


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
        return out


def spec_refs(params: dict[str, Any]) -> list[str]:
    """The specs a compiled spec entry needs trained first: its base and its reward model."""
    reward = params["train"].get("reward")
    rewards = reward if isinstance(reward, list) else [reward]
    return [ref["spec"] for ref in (params["model"]["base"], *rewards)
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
    if isinstance(base, PathBase):
        return {"path": base.path.rstrip("/")}
    if isinstance(base, HubBase):
        return {"hub": base.hub, "revision": base.revision}
    return None


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
    train = dumped["train"]
    dumped["train"] = {"method": train.pop("method"), **train}
    ordered = {
        k: dumped[k] for k in ("seed", "determinism", "data", "model", "train", "evaluate", "tracking")
    }
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
        key = dataset_key(e, data)
        datasets[key] = data
        spec_data[e.name] = key

    deps = {
        kind: [*code_deps(root, f"runners.{kind}"), paths.ENV_LOCK]
        for kind in ("prepare", "train", "evaluate")
    }
    stages: list[Stage] = []
    for key in sorted(datasets):
        src, tok = datasets[key]["source"], datasets[key]["tokenizer_from"] or {}
        data_deps = [src["path"].rstrip("/")] if "path" in src else []
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
        # a reward model another spec trains (grpo): the train stage reads it
        reward_deps = [dep for path, ref in spec.spec_refs() if path[0] == "train"
                       for dep in (str(paths.model_dir(ref)),
                                   str(paths.spec_dir(ref) / paths.TRAIN_LINEAGE))]
        p = f"specs.{name}"
        d = paths.spec_dir(name)
        launch, launch_deps = train_command(spec.train, name)
        stages.append(Stage(
            name=f"train-{name}",
            cmd=launch,
            deps=sorted({str(paths.data_dir(key)), *base_deps, *reward_deps, *launch_deps,
                         *deps["train"]}),
            params=[f"{p}.seed", f"{p}.determinism", f"{p}.data", f"{p}.model", f"{p}.train",
                    f"{p}.tracking"],
            outs=[str(paths.model_dir(name)), str(d / paths.TRAIN_LINEAGE)],
            metrics=[str(d / paths.TRAIN_METRICS)],
            plots=[{str(d / paths.TRAIN_LOG): {"x": "step", "y": "loss"}}],
            spec=name,
            kind="train",
        ))
        stages.append(Stage(
            name=f"evaluate-{name}",
            cmd=f"python -m runners.evaluate {name}",
            deps=sorted({str(paths.data_dir(key)), str(paths.model_dir(name)),
                         str(d / paths.TRAIN_LINEAGE), *base_deps, *deps["evaluate"]}),
            params=[f"{p}.seed", f"{p}.determinism", f"{p}.data", f"{p}.model", f"{p}.evaluate",
                    f"{p}.tracking"],
            outs=[str(d / paths.EVAL_LINEAGE)],
            metrics=[str(d / paths.METRICS)],
            spec=name,
            kind="evaluate",
        ))
    return Graph(datasets=datasets, specs=specs, spec_data=spec_data, stages=stages)


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


# ----------------------------------------------------------------------------- rendering


def _yaml():
    from ruamel.yaml import YAML

    y = YAML(typ="rt", pure=True)
    y.width = 4096
    y.indent(mapping=2, sequence=4, offset=2)
    y.preserve_quotes = True
    y.representer.add_representer(type(None), _represent_none)
    y.representer.add_representer(float, _represent_float)
    return y


def _represent_none(representer: Any, _: Any) -> Any:
    return representer.represent_scalar("tag:yaml.org,2002:null", "null")


def _represent_float(representer: Any, value: float) -> Any:
    """Floats that read back as floats under YAML 1.1 too (PyYAML needs ``1.0e-08``)."""
    text = repr(value)
    if text in ("inf", "-inf", "nan"):
        text = {"inf": ".inf", "-inf": "-.inf", "nan": ".nan"}[text]
    elif "e" in text and "." not in text.split("e")[0]:
        mant, exp = text.split("e")
        text = f"{mant}.0e{exp}"
    return representer.represent_scalar("tag:yaml.org,2002:float", text)


def _load_existing(path: Path) -> Any:
    if not path.is_file():
        return None
    from ruamel.yaml.error import YAMLError

    try:
        return _yaml().load(path.read_text(encoding="utf-8"))
    except (YAMLError, UnicodeDecodeError) as e:
        raise ReproError(f"{path.name}: cannot read it to keep hand-written parts ({e})") from None


def _dump(data: Any) -> str:
    buf = io.StringIO()
    _yaml().dump(data, buf)
    return buf.getvalue()


def _strip_header(text: str, header: str) -> str:
    return text[len(header):] if text.startswith(header) else text


def render_dvc(graph: Graph, existing: Any) -> str:
    from ruamel.yaml.comments import CommentedMap

    doc = CommentedMap()
    stages = CommentedMap()
    for s in graph.stages:
        stages[s.name] = s.to_dvc()
    kept: list[tuple[str, Any]] = []
    if isinstance(existing, dict):
        old = existing.get("stages") or {}
        for name, body in old.items():
            meta = body.get("meta") if isinstance(body, dict) else None
            if isinstance(meta, dict) and meta.get("repro") == "generated":
                continue
            if name in stages:
                raise ReproError(
                    f"dvc.yaml: hand-written stage '{name}' has the name of a generated stage; "
                    "rename it"
                )
            kept.append((name, body))
    for name, body in kept:
        stages[name] = body
    doc["stages"] = stages
    if isinstance(existing, dict):
        for k, v in existing.items():
            if k != "stages":
                doc[k] = v
    return HEADER + _strip_header(_dump(_plain(doc)), HEADER)


def render_params(graph: Graph, existing: Any) -> str:
    from ruamel.yaml.comments import CommentedMap

    doc = CommentedMap()
    doc["datasets"] = {k: graph.datasets[k] for k in sorted(graph.datasets)}
    doc["specs"] = graph.specs
    if isinstance(existing, dict):
        for k, v in existing.items():
            if k not in OWNED_PARAMS:
                doc[k] = v
    return PARAMS_HEADER + _strip_header(_dump(_plain(doc)), PARAMS_HEADER)


def _plain(value: Any) -> Any:
    """Plain dicts/lists all the way down: same input, same bytes (no stray comments)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


@dataclass
class Compiled:
    graph: Graph
    dvc_yaml: str
    params_yaml: str


def compile_workspace(root: Path, entries: list[Entry]) -> Compiled:
    graph = build_graph(root, entries)
    dvc_text = render_dvc(graph, _load_existing(root / paths.DVC_FILE))
    params_text = render_params(graph, _load_existing(root / paths.PARAMS_FILE))
    return Compiled(graph, dvc_text, params_text)


def stale_files(root: Path, compiled: Compiled) -> list[str]:
    out = []
    for name, text in ((paths.DVC_FILE, compiled.dvc_yaml), (paths.PARAMS_FILE, compiled.params_yaml)):
        p = root / name
        if not p.is_file() or p.read_text(encoding="utf-8") != text:
            out.append(name)
    return out


def write_compiled(root: Path, compiled: Compiled) -> list[str]:
    """Write env.lock, params.yaml and dvc.yaml where they changed; the names written."""
    from repro.contract import envlock
    from repro.contract.fsio import write_text_atomic

    written = []
    files = ((paths.ENV_LOCK, envlock.render()), (paths.PARAMS_FILE, compiled.params_yaml),
             (paths.DVC_FILE, compiled.dvc_yaml))
    for name, text in files:
        if write_text_atomic(root / name, text, only_if_changed=True):
            written.append(name)
    return written


def spec_keys(root: Path, entries: list[Entry]) -> dict[str, str]:
    """spec name -> prepared data key, for the specs that are valid."""
    ok = [e for e in entries if e.ok]
    return build_graph(root, ok).spec_data if ok else {}
