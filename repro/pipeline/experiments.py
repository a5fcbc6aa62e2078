"""DVC experiments that cooperate with specs: ``repro exp run`` and the ``-S`` guard.

``params.yaml`` is compiled from ``specs/*.yaml``, so a change made only there (``dvc exp run
-S specs.x.train.optimizer.lr=0.009``) would be reverted by the next compile. ``exp_run``
changes the spec file instead (``--set``, comments kept), recompiles, and hands the
workspace to ``dvc exp run``: the experiment's commit holds the changed spec, params.yaml
and dvc.yaml together, so ``dvc exp show/diff/apply/branch`` all work and nothing is
reverted later. With ``--queue`` the change goes into DVC's queue and the workspace is put
back as it was. ``guard`` stops any compile over a params.yaml another tool edited, and
says which values differ and how to keep or drop them.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from repro.contract import paths
from repro.errors import ReproError, SpecError


def _leaves(d: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(d, dict):
        out: dict[str, Any] = {}
        for k, v in d.items():
            out.update(_leaves(v, f"{prefix}{k}."))
        return out
    return {prefix[:-1]: d}


def guard(root: Path, compiled_params: str) -> None:
    """Raise (exit 2) when params.yaml was edited outside repro; nothing is written then."""
    from repro.pipeline.dvcfiles import edited_outside

    f = root / paths.PARAMS_FILE
    if not f.is_file():
        return
    text = f.read_text(encoding="utf-8")
    if not edited_outside(text):
        return
    import yaml

    try:
        have = _leaves(yaml.safe_load(text) or {})
    except yaml.YAMLError:
        have = {}
    want = _leaves(yaml.safe_load(compiled_params) or {})
    changed = [k for k in sorted(set(have) | set(want))
               if have.get(k) != want.get(k) and k.split(".")[0] in ("specs", "datasets")]
    shown = "; ".join(f"{k}: {have.get(k)!r} in params.yaml, {want.get(k)!r} from the spec"
                      for k in changed[:5]) + (" ..." if len(changed) > 5 else "")
    example = ""
    if changed and changed[0].startswith("specs."):
        _, spec, field = changed[0].split(".", 2)
        example = f" (repro exp run {spec} --set {field}={have.get(changed[0])})"
    raise ReproError(
        "params.yaml was changed outside repro (e.g. by 'dvc exp run -S'): "
        + (shown or "its repro-digest line does not match") + ". "
        "repro compiles params.yaml from specs/*.yaml and would revert that, so it stops here. "
        f"To keep the change, put it in the spec{example}; to drop it, "
        "'git checkout params.yaml' (or delete the file). Nothing was written."
    )


def set_fields(text: str, sets: list[str], file: str) -> str:
    """``text`` (a spec file) with each ``key.path=value`` set, comments kept."""
    import io

    from ruamel.yaml import YAML

    y = YAML(typ="rt")
    y.preserve_quotes = True
    y.width = 4096
    doc = y.load(text)
    if not isinstance(doc, dict):
        raise ReproError(f"{file}: a spec must be a YAML mapping")
    for item in sets:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise ReproError(f"--set {item}: expected KEY=VALUE, e.g. train.optimizer.lr=1e-3")
        value = YAML(typ="safe").load(raw) if raw.strip() else None
        node = doc
        *parents, last = key.split(".")
        for part in parents:
            if not isinstance(node.get(part), dict):
                node[part] = {}
            node = node[part]
        node[last] = value
    out = io.StringIO()
    y.dump(doc, out)
    return out.getvalue()


def exp_run(root: Path, spec: str, sets: list[str], *, queue: bool = False,
            name: str | None = None) -> int:
    """``repro exp run SPEC --set k=v [--queue] [-n NAME]``; returns dvc's exit status."""
    from repro.pipeline.compiler import compile_workspace, write_compiled
    from repro.spec.workspace import load_workspace

    spec_file = root / paths.SPECS_DIR / f"{spec}.yaml"
    if not spec_file.is_file():
        raise ReproError(f"{spec}: no spec file {spec_file.relative_to(root)}")
    if not sets:
        raise ReproError("repro exp run: give at least one --set KEY=VALUE")
    kept = {f: (root / f).read_bytes() if (root / f).is_file() else None
            for f in (spec_file.relative_to(root).as_posix(), paths.PARAMS_FILE,
                      paths.DVC_FILE)}
    compiled = None
    try:
        spec_file.write_text(set_fields(spec_file.read_text(encoding="utf-8"), sets,
                                        spec_file.name), encoding="utf-8")
        entries = load_workspace(root)
        bad = [e for e in entries if e.errors]
        if bad:
            raise _SpecErrors(bad)
        compiled = compile_workspace(root, entries)
        write_compiled(root, compiled)
        cmd = [sys.executable, "-m", "dvc", "exp", "run", *(["--queue"] if queue else []),
               *(["-n", name] if name else [])]
        rc = subprocess.run(cmd, cwd=root).returncode
    except BaseException:
        _restore(root, kept)
        raise
    if queue:
        _restore(root, kept)  # the queued experiment holds the change
    return rc


class _SpecErrors(ReproError):
    def __init__(self, bad: list) -> None:
        errors: list[SpecError] = [e for entry in bad for e in entry.errors]
        super().__init__("\n".join(e.format() for e in errors)
                         + "\nthe --set values make the spec invalid; nothing was changed")


def _restore(root: Path, kept: dict[str, bytes | None]) -> None:
    for rel, data in kept.items():
        if data is None:
            (root / rel).unlink(missing_ok=True)
        else:
            (root / rel).write_bytes(data)
