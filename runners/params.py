"""Reading ``params.yaml``: the compiler's output and the runners' only configuration.

The shape is fixed by docs/runner-contract.md. Every section is validated with the
same pydantic models the compiler used (``repro.spec.schema``), so defaults and allowed
values live in one place; a bad entry raises a RunnerError naming the params key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

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


def _validate(section: str, value: Any, where: str) -> dict[str, Any]:
    """``value``, the spec section ``section``, checked and completed by the schema."""
    from pydantic import TypeAdapter, ValidationError

    from repro.spec.schema import Spec
    from repro.spec.schemapath import field_name, resolve_loc

    field = Spec.model_fields[section]  # the annotation plus its discriminator
    adapter = TypeAdapter(Annotated[field.annotation, field])
    try:
        return adapter.dump_python(adapter.validate_python(value), mode="json")
    except ValidationError as e:
        err = e.errors()[0]
        path = resolve_loc((section, *err["loc"]), {section: value})
        field = where + field_name(path).removeprefix(section)
        msg = err["msg"].replace("Input should be", "must be")
        raise RunnerError(
            f"{paths.PARAMS_FILE}: {field}: {msg} (got {err.get('input')!r}; "
            "recompile with `repro compile`)"
        ) from None


def resolve_dataset(dataset: dict[str, Any], where: str = "dataset") -> dict[str, Any]:
    """A ``datasets.<key>`` entry with defaults filled in and every field checked."""
    if not isinstance(dataset, dict):
        raise RunnerError(f"{paths.PARAMS_FILE}: {where}: expected a mapping")
    if dataset.get("seed") is None:
        raise RunnerError(f"{paths.PARAMS_FILE}: {where}.seed: missing")
    return _validate("data", dataset, where)


def resolve_spec(spec: dict[str, Any], name: str, stage: str = "train") -> dict[str, Any]:
    """A ``specs.<name>`` entry with defaults filled in and the sections ``stage`` reads checked.

    The evaluate stage reads ``seed``, ``data``, ``model``, ``evaluate`` and ``tracking``
    only (never ``train``: it learns what it needs from the trained model directory), so
    for ``stage="evaluate"`` the train section is neither required nor checked.
    """
    where = f"specs.{name}"
    for key in ("seed", "data", "model"):
        if spec.get(key) is None:
            raise RunnerError(f"{paths.PARAMS_FILE}: {where}.{key}: missing")
    s = dict(spec)
    s["model"] = _validate("model", spec["model"], f"{where}.model")
    s["evaluate"] = _validate("evaluate", spec.get("evaluate") or {}, f"{where}.evaluate")
    s["tracking"] = _validate("tracking", spec.get("tracking") or {}, f"{where}.tracking")
    if stage == "train":
        if not isinstance(spec.get("train"), dict):
            raise RunnerError(f"{paths.PARAMS_FILE}: {where}.train: missing")
        s["train"] = _validate("train", spec["train"], f"{where}.train")
    return s


def base_kind(base: dict[str, Any]) -> str:
    return next(k for k in BASE_KINDS if k in base)
