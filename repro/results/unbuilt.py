"""A result without lineage records, resolved from its spec: why it has none, how to get them.

``repro diff`` compares like with like: when one side was never built here (or its outputs are
not in the local DVC cache), both sides are compared by their resolved specs, the base chain
resolved from specs too (``upstream_specs``). The spec comes from what that source compiles to:
the workspace's specs compiled in memory now (so a spec not yet compiled, or edited since,
is seen as it is), or the ``params.yaml`` a git revision committed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from repro.contract import paths
from repro.errors import ReproError
from repro.results.sources import GitRevSource, WorkspaceSource, _yaml

if TYPE_CHECKING:
    from repro.results.result import Result


def _workspace_catalog(source: WorkspaceSource, name: str) -> dict[str, Any]:
    """params.yaml as the workspace's specs compile to now (written nowhere)."""
    from repro.pipeline.compiler import params_text
    from repro.spec.workspace import load_workspace

    root = source.root
    entries = load_workspace(root)
    bad = [e for e in entries if e.name == name and e.errors]
    if bad:
        raise ReproError(f"{name}: no lineage records, and {bad[0].file} is not a valid spec "
                         f"to compare by (see `repro validate {name}`)")
    try:
        return _yaml(params_text(root, [e for e in entries if not e.errors])) or {}
    except ReproError:
        return source.params() or {}


def _lock_stages(text: str | None) -> dict[str, Any]:
    return ((_yaml(text) if text else None) or {}).get("stages") or {}


def _workspace_why(source: WorkspaceSource, name: str) -> tuple[str, str]:
    try:
        lock = _lock_stages((source.root / paths.DVC_LOCK).read_text(encoding="utf-8"))
    except OSError:
        lock = {}
    if f"train-{name}" in lock:
        return (f"not checked out: {paths.DVC_LOCK} records a build of it, but "
                f"{paths.spec_dir(name)}/ has no lineage records",
                "`dvc checkout` (or `dvc pull` from the DVC remote)")
    return "unbuilt: never built in this workspace", f"`repro run {name}`"


def _rev_why(source: GitRevSource, name: str) -> tuple[str, str]:
    rec = f"{paths.spec_dir(name).as_posix()}/{paths.lineage_file('train')}"
    if rec in source.outs:
        return (f"not in the local DVC cache: built at {source.rev}, but its records are "
                "not in this clone's DVC cache",
                f"`dvc fetch --all-commits` (or `dvc pull` on a checkout of {source.rev})")
    return (f"unbuilt at {source.rev}: its {paths.DVC_LOCK} has no build of it",
            f"`repro run {name}` on a checkout of {source.rev}")


def from_spec(result: Result) -> None:
    """Fill ``result`` from its spec: params, dataset, catalog, and why it has no records."""
    src = result.source
    if isinstance(src, WorkspaceSource):
        catalog = _workspace_catalog(src, result.spec)
        why, how = _workspace_why(src, result.spec)
        where = f"the specs in {paths.SPECS_DIR}/"
        hint = f"is there a {paths.SPECS_DIR}/{result.spec}.yaml?"
    elif isinstance(src, GitRevSource):
        catalog = src.params() or {}
        why, how = _rev_why(src, result.spec)
        where = f"{paths.PARAMS_FILE} at {src.rev}"
        hint = (f"is {paths.SPECS_DIR}/{result.spec}.yaml in {src.rev}, and was "
                f"{paths.PARAMS_FILE} compiled (`repro compile`) before that commit?")
    else:
        raise ReproError(f"{result.label}: no lineage records ({src.label})")
    spec = (catalog.get("specs") or {}).get(result.spec)
    if spec is None:
        raise ReproError(f"{result.label}: no lineage records, and no spec '{result.spec}' in "
                         f"{where}: {hint}")
    result.params = spec
    result.dataset = (catalog.get("datasets") or {}).get(spec.get("data"))
    result.catalog = catalog
    result.missing = why  # "<state>: <reason>"
    result.remedy = how
    result.notes.append(f"no lineage records ({why}): compared by its spec; to get them: "
                        f"{how}")


def base_name(spec: dict[str, Any] | None) -> str | None:
    """The spec a spec's model is built on (``model.base.spec``), if any."""
    base = ((spec or {}).get("model") or {}).get("base") or {}
    name = base.get("spec") if isinstance(base, dict) else None
    return name if isinstance(name, str) else None


def spec_refs(spec: dict[str, Any] | None) -> list[tuple[str, str]]:
    """The other specs a spec reads: ("base", its model's base spec) and ("uses", any other
    ``{spec: NAME}`` it names, e.g. a GRPO reward model), in order."""
    out: list[tuple[str, str]] = []
    base = base_name(spec)
    if base:
        out.append(("base", base))

    def walk(value: Any, path: tuple[str, ...]) -> None:
        if isinstance(value, dict):
            ref = value.get("spec")
            if isinstance(ref, str) and path != ("model", "base"):
                out.append(("uses", ref))
            for k, v in value.items():
                walk(v, (*path, str(k)))
        elif isinstance(value, list):
            for v in value:
                walk(v, path)

    walk(spec or {}, ())
    return out


Lookup = Callable[[str], "tuple[dict[str, Any], dict[str, Any] | None] | None"]


def upstream_specs(spec: dict[str, Any] | None, lookup: Lookup
                   ) -> tuple[list[tuple[str, str, dict[str, Any], dict[str, Any] | None]],
                              set[str]]:
    """(prefix, name, spec, dataset) for every spec this one is built from (``base:NAME:``,
    up the chain of bases) or uses (``uses:NAME:``), each once, nearest first; and the names
    referenced that ``lookup`` (name -> (spec, dataset) or None) could not resolve."""
    out: list[tuple[str, str, dict[str, Any], dict[str, Any] | None]] = []
    seen: set[str] = set()
    missing: set[str] = set()
    todo = [(kind == "base", name) for kind, name in spec_refs(spec)]
    while todo:
        via_bases, name = todo.pop(0)
        if name in seen or name in missing:
            continue
        got = lookup(name)
        if got is None:
            missing.add(name)
            continue
        seen.add(name)
        other, dataset = got
        out.append((f"{'base' if via_bases else 'uses'}:{name}:", name, other, dataset))
        todo += [(via_bases and kind == "base", n) for kind, n in spec_refs(other)]
    return out, missing


def catalog_lookup(catalog: dict[str, Any]) -> Lookup:
    specs, datasets = catalog.get("specs") or {}, catalog.get("datasets") or {}

    def lookup(name: str):
        spec = specs.get(name)
        return None if spec is None else (spec, datasets.get(spec.get("data")))

    return lookup
