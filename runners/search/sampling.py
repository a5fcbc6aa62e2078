"""From a spec's ``search`` params to Optuna objects: the sampler, the pruner, a trial's values.

The space is sampled define-by-run in declaration order, so a ``when`` condition can name a
dimension sampled before it (or any field of the spec). The sampler's full configuration,
Optuna's defaults included, is recorded (Optuna 5 changed TPE's defaults).
"""

from __future__ import annotations

import copy
import inspect
import math
from typing import Any


def get_path(data: Any, path: str) -> Any:
    cur = data
    for part in path.split("."):
        if not isinstance(cur, dict) or part not in cur:
            return None
        cur = cur[part]
    return cur


def set_path(data: dict[str, Any], path: str, value: Any) -> None:
    parts = path.split(".")
    cur = data
    for part in parts[:-1]:
        if not isinstance(cur.get(part), dict):
            cur[part] = {}
        cur = cur[part]
    cur[parts[-1]] = value


def field_kind(spec: dict[str, Any], path: str, param: dict[str, Any]) -> str:
    """int or float for a range: the type of the field's current value (a float field holds
    a float after validation), falling back to the bounds' types."""
    if param.get("choices") is not None:
        return "categorical"
    if param.get("type"):
        return param["type"]
    current = get_path(spec, path)
    if isinstance(current, bool):
        return "categorical"
    if isinstance(current, int):
        return "int"
    if isinstance(current, float):
        return "float"
    low, high = param["low"], param["high"]
    ints = all(float(v).is_integer() for v in (low, high))
    return "int" if ints and param.get("step") in (None, 1, 1.0) and not param.get("log") else "float"


def _holds(spec: dict[str, Any], when: dict[str, Any] | None) -> bool:
    for path, allowed in (when or {}).items():
        options = allowed if isinstance(allowed, list) else [allowed]
        if get_path(spec, path) not in options:
            return False
    return True


def sample(trial, spec: dict[str, Any], space: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Suggest every dimension whose condition holds; return field path -> value (also set
    in ``spec``, in place)."""
    chosen: dict[str, Any] = {}
    for path, p in space.items():
        if not _holds(spec, p.get("when")):
            continue
        kind = field_kind(spec, path, p)
        if kind == "categorical":
            value = trial.suggest_categorical(path, list(p["choices"]))
        elif kind == "int":
            step = int(p["step"]) if p.get("step") else 1
            value = trial.suggest_int(path, int(p["low"]), int(p["high"]), step=step,
                                      log=bool(p.get("log")))
        else:
            value = trial.suggest_float(path, float(p["low"]), float(p["high"]),
                                        step=p.get("step"), log=bool(p.get("log")))
        set_path(spec, path, value)
        chosen[path] = value
    return chosen


def trial_spec(base: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    """The base spec entry with a trial's sampled values set."""
    spec = copy.deepcopy(base)
    for path, value in params.items():
        set_path(spec, path, value)
    return spec


def grid(spec: dict[str, Any], space: dict[str, dict[str, Any]]) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for path, p in space.items():
        kind = field_kind(spec, path, p)
        if kind == "categorical":
            out[path] = list(p["choices"])
            continue
        step = p.get("step") or 1
        n = int(math.floor((p["high"] - p["low"]) / step + 1e-9)) + 1
        values = [p["low"] + i * step for i in range(n)]
        out[path] = [int(round(v)) for v in values] if kind == "int" else values
    return out


def make_sampler(search: dict[str, Any], spec: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    """The Optuna sampler and its full configuration (every constructor argument)."""
    import optuna

    cfg = search["sampler"]
    kwargs: dict[str, Any] = {"seed": cfg["seed"]}
    name = cfg["name"]
    if name == "tpe":
        cls = optuna.samplers.TPESampler
    elif name == "random":
        cls = optuna.samplers.RandomSampler
    elif name == "gp":
        cls = optuna.samplers.GPSampler
    elif name == "nsga2":
        cls = optuna.samplers.NSGAIISampler
    else:
        cls = optuna.samplers.GridSampler
        kwargs["search_space"] = grid(spec, search["space"])
    if cfg.get("startup_trials") is not None and name in ("tpe", "gp"):
        kwargs["n_startup_trials"] = int(cfg["startup_trials"])
    return cls(**kwargs), describe(cls, kwargs)


def make_pruner(search: dict[str, Any], spec: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    import optuna

    cfg = search["pruner"]
    if cfg["name"] == "median":
        cls = optuna.pruners.MedianPruner
        kwargs = {"n_startup_trials": cfg["startup_trials"], "n_warmup_steps": cfg["warmup_steps"]}
    elif cfg["name"] == "hyperband":
        cls = optuna.pruners.HyperbandPruner
        kwargs = {"min_resource": cfg["every"],
                  "max_resource": spec["train"].get("max_steps") or "auto"}
    else:
        cls, kwargs = optuna.pruners.NopPruner, {}
    return cls(**kwargs), describe(cls, kwargs)


def describe(cls: type, kwargs: dict[str, Any]) -> dict[str, Any]:
    """``{"class", "args"}``: every constructor argument, given or defaulted, as JSON."""
    args: dict[str, Any] = {}
    for name, prm in inspect.signature(cls.__init__).parameters.items():
        if name == "self" or prm.kind in (prm.VAR_KEYWORD, prm.VAR_POSITIONAL):
            continue
        value = kwargs.get(name, prm.default)
        if value is inspect.Parameter.empty:
            value = None
        args[name] = value if isinstance(value, (int, float, str, bool, type(None), list, dict)) \
            else repr(value)
    return {"class": f"{cls.__module__}.{cls.__qualname__}", "args": args}
