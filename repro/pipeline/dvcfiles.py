"""Rendering the stage graph as ``dvc.yaml`` and ``params.yaml``, keeping what a person wrote.

Byte-identical for an identical graph: stages and keys come out in a fixed order and
nothing time- or machine-dependent is written. Stages written by hand in ``dvc.yaml``
(those without ``meta: {repro: generated}``) and params of your own in ``params.yaml``
(top-level keys other than ``datasets`` and ``specs``) are kept.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from repro.errors import ReproError
from repro.pipeline.graph import Graph

HEADER = (
    "# Compiled by `repro compile` from specs/*.yaml. Do not edit generated stages\n"
    "# (meta: {repro: generated}); they are rewritten on every compile. Stages you add\n"
    "# by hand are kept. Top-level plots with ids 'repro-*' are generated too.\n"
)
PARAMS_HEADER = (
    "# Compiled by `repro compile` from specs/*.yaml: the resolved specs, read by the\n"
    "# stages in dvc.yaml. The 'datasets' and 'specs' keys are rewritten on every compile;\n"
    "# other top-level keys are yours and are kept.\n"
)
OWNED_PARAMS = ("datasets", "specs")


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


def load_existing(path: Path) -> Any:
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
    from repro.pipeline.plots import definitions, merge

    old_plots = existing.get("plots") if isinstance(existing, dict) else None
    doc["plots"] = merge(definitions(graph.specs), old_plots)
    if isinstance(existing, dict):
        for k, v in existing.items():
            if k not in ("stages", "plots"):
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
    body = _strip_header(_dump(_plain(doc)), PARAMS_HEADER)
    return PARAMS_HEADER + digest_line(body) + body


DIGEST_PREFIX = "# repro-digest: "


def digest_line(body: str) -> str:
    """The line that lets repro tell its own params.yaml from one edited by another tool:
    a hash of the ``datasets`` and ``specs`` parts (keys of your own may change freely)."""
    import hashlib

    owned, key = [], None
    for line in body.splitlines(keepends=True):
        if line[:1] not in (" ", "-", "#", "\n", ""):
            key = line.split(":", 1)[0].strip()
        if key in OWNED_PARAMS:
            owned.append(line)
    text = "".join(owned)
    return f"{DIGEST_PREFIX}{hashlib.sha256(text.encode('utf-8')).hexdigest()[:16]}\n"


def edited_outside(text: str) -> bool:
    """True when ``params.yaml`` no longer is what repro wrote (e.g. ``dvc exp run -S``).
    A file from before the digest line (or not from repro at all) is not judged."""
    if not text.startswith(PARAMS_HEADER):
        return "\nspecs:" in text and "\ndatasets:" in text  # repro's keys, header gone
    rest = text[len(PARAMS_HEADER):]
    if not rest.startswith(DIGEST_PREFIX):
        return False
    line, _, body = rest.partition("\n")
    return line + "\n" != digest_line(body)


def _plain(value: Any) -> Any:
    """Plain dicts/lists all the way down: same input, same bytes (no stray comments)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value
