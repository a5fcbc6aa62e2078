"""Reading ``params.yaml``: the compiler's output and the runners' only configuration.

The shape is fixed by docs/runner-contract.md. Every section is validated with the
same pydantic models the compiler used (``repro.spec.schema``), so defaults and allowed
values live in one place; a bad entry raises a RunnerError naming the params key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from repro.contract import paths
from runners.errors import RunnerError

BASE_KINDS = ("config", "spec", "path", "hub")


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


def _validate(section: str, tp: Any, value: Any, where: str) -> dict[str, Any]:
    """``value``, spec section ``section`` of schema type ``tp``, checked and completed."""
    from pydantic import TypeAdapter, ValidationError, create_model

    from repro.spec.schemapath import field_name, resolve_loc

    adapter = TypeAdapter(tp)
    try:
        return adapter.dump_python(adapter.validate_python(value), mode="json")
    except ValidationError as e:
        err = e.errors()[0]
        root = create_model(f"Params_{section}", **{section: (tp, ...)})
        path = resolve_loc((section, *err["loc"]), {section: value}, root)
        field = where + field_name(path).removeprefix(section)
        msg = err["msg"].replace("Input should be", "must be")
        raise RunnerError(
            f"{paths.PARAMS_FILE}: {field}: {msg} (got {err.get('input')!r}; "
            "recompile with `repro compile`)"
        ) from None


def resolve_dataset(dataset: dict[str, Any], data_type: Any, where: str = "dataset") -> dict[str, Any]:
    """A ``datasets.<key>`` entry with defaults filled in and every field checked
    (``data_type``: the schema's ``Data`` section)."""
    if not isinstance(dataset, dict):
        raise RunnerError(f"{paths.PARAMS_FILE}: {where}: expected a mapping")
    if dataset.get("seed") is None:
        raise RunnerError(f"{paths.PARAMS_FILE}: {where}.seed: missing")
    return _validate("data", data_type, dataset, where)


OPTIONAL = ("evaluate", "tracking", "determinism")  # sections a spec may leave out (all defaults)


def resolve_spec(spec: dict[str, Any], name: str, sections: dict[str, Any]) -> dict[str, Any]:
    """A ``specs.<name>`` entry with the sections a stage reads checked and completed.

    ``sections``: section name -> its schema type (from ``repro.spec.sections``), exactly
    the sections the calling stage reads, so a stage depends on those sections' code only
    (the evaluate stage never reads ``train``: it learns what it needs from the trained
    model directory). Other sections are passed through as they are.
    """
    where = f"specs.{name}"
    required = ("seed", "data", "model", *(k for k in sections if k not in OPTIONAL))
    for key in dict.fromkeys(required):
        if spec.get(key) is None or (key == "train" and not isinstance(spec[key], dict)):
            raise RunnerError(f"{paths.PARAMS_FILE}: {where}.{key}: missing")
    s = dict(spec)
    for key, tp in sections.items():
        s[key] = _validate(key, tp, spec.get(key) or {}, f"{where}.{key}")
    return s


def base_kind(base: dict[str, Any]) -> str:
    return next(k for k in BASE_KINDS if k in base)
