"""A spec's sweep as the compiler sees it: the resolved ``search`` params and the sweep stage.

A spec with ``search:`` compiles to one stage, ``search-<spec>``, instead of its train and
evaluate stages: ``python -m runners.search.worker <spec>`` runs the study and leaves the
best trial's model, metrics and lineage where the spec's own would be (so specs built on
it and ``repro show`` read them as usual), plus ``study.json`` and ``best.json``. It reads
the whole ``specs.<spec>`` entry (any field may be sampled) and runs the train method's,
the evaluate stage's and the worker's code.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from repro.contract import paths
from repro.contract.codedeps import code_deps
from repro.contract.methods import method_module
from repro.search.space import field_kind, set_path, when_values
from repro.spec.schema import Spec

STUDY_JSON = "study.json"
BEST_JSON = "best.json"
STUDY_DIR = "study"


def resolve_search(spec: Any) -> dict[str, Any]:
    """The search section as params: defaults filled in, the sampler seeded from the spec."""
    out = spec.search.model_dump(mode="json")
    if out["sampler"]["seed"] is None:
        out["sampler"]["seed"] = spec.seed
    data = spec.model_dump(mode="json", exclude={"search"})
    space = {}
    for path, p in out["space"].items():
        p = {f: v for f, v in p.items() if v is not None and (f != "log" or v)}
        ctx = copy.deepcopy(data)
        for cond, value in when_values(p.get("when")).items():
            set_path(ctx, cond, value)
        kind = "categorical" if "choices" in p else field_kind(Spec, ctx, path) or "float"
        if kind == "int":
            p = {f: int(v) if f in ("low", "high", "step") else v for f, v in p.items()}
        space[path] = {"type": kind, **p}
    out["space"] = space
    return out


def search_stage(root: Path, name: str, spec: Any, key: str, upstream: list[str]):
    from repro.pipeline.graph import Stage

    d = paths.spec_dir(name)
    code = code_deps(root, "runners.search.worker", method_module(spec.train.method),
                     "runners.evaluate")
    return Stage(
        name=f"search-{name}",
        cmd=f"python -m runners.search.worker {name}",
        deps=sorted({str(paths.data_dir(key)), *upstream, *code, paths.ENV_LOCK}),
        params=[f"specs.{name}"],
        outs=[str(d / STUDY_DIR), str(paths.model_dir(name)), str(d / paths.TRAIN_LINEAGE),
              str(d / paths.EVAL_LINEAGE), str(d / BEST_JSON), str(d / STUDY_JSON)],
        metrics=[str(d / paths.METRICS), str(d / paths.TRAIN_METRICS)],
        plots=[{str(d / paths.TRAIN_LOG): {"x": "step", "y": "loss"}}],
        spec=name,
        kind="search",
    )
