"""Reading ``params.yaml``: the compiler's output and the runners' only configuration.

The shape is fixed by docs/runner-contract.md. Optional fields missing from older
files take the defaults below; required ones missing raise a RunnerError naming the key.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from repro import paths
from runners.errors import RunnerError

FORMATS = ("text", "instruction")
METHODS = ("pretrain", "sft")
OPTIMIZERS = ("adamw", "sgd")
SCHEDULERS = ("constant", "linear", "cosine")
BASE_KINDS = ("config", "spec", "path", "hub")

DATASET_DEFAULTS: dict[str, Any] = {
    "clean": {"dedupe": True, "min_chars": 1},
    "split": {"validation": 0.1, "test": 0.1},
    "tokenizer": None,
}
TOKENIZER_DEFAULTS: dict[str, Any] = {"kind": "bpe", "vocab_size": 512, "min_frequency": 2}

SPEC_DEFAULTS: dict[str, Any] = {
    "train": {
        "method": "sft",
        "peft": None,
        "optimizer": {
            "weight_decay": 0.0,
            "betas": [0.9, 0.999],
            "eps": 1.0e-8,
            "momentum": 0.0,
        },
        "scheduler": {"name": "constant", "warmup_ratio": 0.0},
        "max_steps": None,
        "epochs": None,
        "batch_size": 16,
        "grad_accum": 1,
        "max_grad_norm": 1.0,
        "max_length": 64,
        "log_every": 10,
    },
    "evaluate": {
        "metrics": ["perplexity", "exact_match"],
        "split": "test",
        "max_examples": None,
        "max_new_tokens": 8,
        "batch_size": 32,
        "compare_base": False,
    },
    "tracking": {"mlflow": True, "tracking_uri": None, "experiment": "repro"},
}
PEFT_DEFAULTS: dict[str, Any] = {
    "kind": "lora",
    "r": 8,
    "alpha": 16,
    "dropout": 0.0,
    "target_modules": ["q_proj", "v_proj"],
}


def load_params(root: str | Path) -> dict[str, Any]:
    """Parse ``<root>/params.yaml``."""
    import yaml

    path = Path(root) / paths.PARAMS_FILE
    if not path.is_file():
        raise RunnerError(f"{path}: not found (run the compiler first)")
    try:
        with open(path, encoding="utf-8") as f:
            data = yaml.safe_load(f)
    except yaml.YAMLError as e:
        raise RunnerError(f"{path}: invalid YAML: {e}") from None
    if not isinstance(data, dict):
        raise RunnerError(f"{path}: expected a mapping at the top level")
    return data


def dataset_params(params: dict[str, Any], key: str) -> dict[str, Any]:
    """The raw ``datasets.<key>`` entry."""
    return _entry(params, "datasets", key)


def spec_params(params: dict[str, Any], name: str) -> dict[str, Any]:
    """The raw ``specs.<name>`` entry."""
    return _entry(params, "specs", name)


def _entry(params: dict[str, Any], section: str, key: str) -> dict[str, Any]:
    entries = params.get(section)
    if not isinstance(entries, dict):
        raise RunnerError(f"{paths.PARAMS_FILE}: missing section '{section}'")
    if key not in entries:
        known = ", ".join(sorted(entries)) or "none"
        raise RunnerError(f"{paths.PARAMS_FILE}: {section}.{key}: not found (known: {known})")
    value = entries[key]
    if not isinstance(value, dict):
        raise RunnerError(f"{paths.PARAMS_FILE}: {section}.{key}: expected a mapping")
    return value


def resolve_dataset(dataset: dict[str, Any], where: str = "dataset") -> dict[str, Any]:
    """Defaults filled in and the fields the data stage needs checked."""
    d = _merge(DATASET_DEFAULTS, dataset)
    for key in ("source", "format", "seed"):
        _require(d, key, where)
    if d["format"] not in FORMATS:
        _bad(where, "format", d["format"], FORMATS)
    if not isinstance(d["source"], dict):
        raise RunnerError(
            f"{paths.PARAMS_FILE}: {where}.source: expected a mapping (got {d['source']!r})"
        )
    if d["tokenizer"] is not None:
        d["tokenizer"] = _merge(TOKENIZER_DEFAULTS, d["tokenizer"])
        if d["tokenizer"]["kind"] != "bpe":
            _bad(where, "tokenizer.kind", d["tokenizer"]["kind"], ("bpe",))
    return d


def resolve_spec(spec: dict[str, Any], name: str, stage: str = "train") -> dict[str, Any]:
    """Defaults filled in and the fields ``stage`` reads checked.

    The evaluate stage reads ``seed``, ``data``, ``model``, ``evaluate`` and ``tracking``
    only (never ``train``: it learns what it needs from the trained model directory), so
    for ``stage="evaluate"`` the train section is neither required nor checked.
    """
    where = f"specs.{name}"
    s = _merge(SPEC_DEFAULTS, spec)
    for key in ("seed", "data", "model.base"):
        _require(s, key, where)
    base = s["model"]["base"]
    kinds = [k for k in BASE_KINDS if isinstance(base, dict) and k in base]
    if len(kinds) != 1:
        raise RunnerError(
            f"{paths.PARAMS_FILE}: {where}.model.base: expected exactly one of "
            f"{', '.join(BASE_KINDS)} (got {base!r})"
        )
    if stage == "train":
        _check_train(s, where)
    return s


def _check_train(s: dict[str, Any], where: str) -> None:
    for key in ("train.optimizer.name", "train.optimizer.lr"):
        _require(s, key, where)
    t = s["train"]
    if t["method"] not in METHODS:
        _bad(where, "train.method", t["method"], METHODS)
    if t["optimizer"]["name"] not in OPTIMIZERS:
        _bad(where, "train.optimizer.name", t["optimizer"]["name"], OPTIMIZERS)
    if t["scheduler"]["name"] not in SCHEDULERS:
        _bad(where, "train.scheduler.name", t["scheduler"]["name"], SCHEDULERS)
    if t["max_steps"] is None and t["epochs"] is None:
        raise RunnerError(
            f"{paths.PARAMS_FILE}: {where}.train: one of max_steps or epochs must be set"
        )
    if t["peft"] is not None:
        t["peft"] = _merge(PEFT_DEFAULTS, t["peft"])
        if t["peft"]["kind"] != "lora":
            _bad(where, "train.peft.kind", t["peft"]["kind"], ("lora",))


def base_kind(base: dict[str, Any]) -> str:
    return next(k for k in BASE_KINDS if k in base)


def _merge(defaults: dict[str, Any], given: dict[str, Any]) -> dict[str, Any]:
    """Deep merge: ``given`` wins; a default mapping replaced by None stays None."""
    out = copy.deepcopy(defaults)
    for key, value in (given or {}).items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _require(d: dict[str, Any], dotted: str, where: str) -> None:
    node: Any = d
    for part in dotted.split("."):
        if not isinstance(node, dict) or node.get(part) is None:
            raise RunnerError(f"{paths.PARAMS_FILE}: {where}.{dotted}: missing")
        node = node[part]


def _bad(where: str, key: str, value: Any, allowed: tuple[str, ...]) -> None:
    raise RunnerError(
        f"{paths.PARAMS_FILE}: {where}.{key}: unknown value {value!r} "
        f"(expected one of: {', '.join(allowed)})"
    )
