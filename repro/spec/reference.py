"""The spec field reference, generated from the schema (``repro schema --markdown``)."""

from __future__ import annotations

import types
import typing
from typing import Any

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from repro.spec.schema import Spec
from repro.spec.schemapath import union_members, unwrap


def _type_name(tp: Any) -> str:
    tp0 = tp
    tp = unwrap(tp)
    origin = typing.get_origin(tp)
    optional = tp0 is not tp and type(None) in typing.get_args(tp0)
    if origin is typing.Literal:
        text = " \\| ".join(f"`{a}`" for a in typing.get_args(tp))
    elif origin in (list, tuple):
        args = [a for a in typing.get_args(tp) if a is not Ellipsis]
        text = f"list of {_type_name(args[0])}" if args else "list"
    elif isinstance(tp, type) and issubclass(tp, BaseModel):
        text = "mapping"
    elif isinstance(tp, type):
        text = tp.__name__
    elif union_members(tp):
        text = "one of: " + ", ".join(f"`{t}`" for t in union_members(tp))
    elif origin in (typing.Union, types.UnionType):  # e.g. a mapping or a list of them
        text = " or ".join(_type_name(a) for a in typing.get_args(tp))
    else:
        text = str(tp)
    return text + (" or null" if optional else "")


def _default(field: Any) -> str:
    if field.is_required():
        return "**required**"
    if field.default_factory is not None:
        value = field.default_factory()
        if isinstance(value, BaseModel):
            return "(defaults)"
        return f"`{value}`"
    if field.default is PydanticUndefined:
        return ""
    return f"`{'null' if field.default is None else field.default}`"


def _rows(model: type[BaseModel], prefix: str, out: list[str], seen: set) -> None:
    for name, f in model.model_fields.items():
        path = f"{prefix}{name}"
        members = union_members(f.annotation)
        if len(set(members.values())) == 1:
            members = {next(iter(members)): next(iter(members.values()))}
        desc = (f.description or "").replace("|", "\\|")
        if len(members) > 1 or (len(members) == 1 and typing.get_origin(unwrap(f.annotation))
                                not in (list, tuple)):
            kinds = list(members)
            if len(members) > 1:
                desc = (desc + "; " if desc else "") + "kinds: " + ", ".join(f"`{k}`" for k in kinds)
            out.append(f"| `{path}` | mapping | {_default(f)} | {desc} |")
            for tag, member in members.items():
                key = (member, path)
                if key in seen:
                    continue
                seen.add(key)
                sub = f"{path}.{tag}:" if len(members) > 1 else f"{path}."
                _rows(member, sub if len(members) == 1 else f"{path}[{tag}].", out, seen)
        else:
            out.append(f"| `{path}` | {_type_name(f.annotation)} | {_default(f)} | {desc} |")


def markdown_reference() -> str:
    out = ["| field | type | default | description |", "|---|---|---|---|",
           "| `extends` | string or list | | spec file(s) to deep-merge under this one "
           "(paths relative to this file; the child wins) |"]
    _rows(Spec, "", out, set())
    return "\n".join(out) + "\n"
