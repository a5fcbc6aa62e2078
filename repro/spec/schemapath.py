"""Walking the spec schema alongside a pydantic error location.

pydantic reports a location like ``('train', 'sft', 'peft', 'lora', 'r')``, where ``sft``
and ``lora`` are union tags rather than keys; ``resolve_loc`` recovers the real field path
(``train.peft.r``). Shared by the validator and the runners (which re-check params.yaml),
so it imports nothing but pydantic: the caller names the root model (the whole ``Spec``,
or the sections a stage reads).
"""

from __future__ import annotations

import types
import typing
from typing import Any

from pydantic import BaseModel


def unwrap(tp: Any) -> Any:
    """Strip Annotated and Optional, returning the core type."""
    while True:
        origin = typing.get_origin(tp)
        if origin is typing.Annotated:
            tp = typing.get_args(tp)[0]
            continue
        if origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(tp) if a is not type(None)]
            if len(args) == 1:
                tp = args[0]
                continue
        return tp


def union_members(tp: Any) -> dict[str, type[BaseModel]]:
    """For a (possibly discriminated) union of models: tag -> model class."""
    out: dict[str, type[BaseModel]] = {}
    tp = unwrap(tp)
    origin = typing.get_origin(tp)
    args = typing.get_args(tp) if origin in (typing.Union, types.UnionType) else (tp,)
    for arg in args:
        tag = None
        if typing.get_origin(arg) is typing.Annotated:
            for meta in typing.get_args(arg)[1:]:
                if type(meta).__name__ == "Tag":
                    tag = meta.tag
            arg = typing.get_args(arg)[0]
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            tags = {tag} if tag else set()
            for name, f in arg.model_fields.items():
                if typing.get_origin(f.annotation) is typing.Literal and name in (
                    "method",
                    "name",
                    "kind",
                ):
                    tags.update(typing.get_args(f.annotation))
            for t in tags:
                out[str(t)] = arg
            if not tags:
                out[arg.__name__] = arg
    return out


def model_at(
    path: tuple[str | int, ...], data: Any, root: type[BaseModel]
) -> type[BaseModel] | None:
    """The model (below ``root``) that describes the mapping at ``path`` of ``data``, if any."""
    cls: type[BaseModel] | None = root
    cur = data
    for el in path:
        if cls is None or not isinstance(el, str) or el not in cls.model_fields:
            return None
        cur = cur.get(el) if isinstance(cur, dict) else None
        members = union_members(cls.model_fields[el].annotation)
        if len(set(members.values())) == 1:
            cls = next(iter(members.values()))
        elif members:
            cls = None
            if isinstance(cur, dict):
                for tag, member in members.items():
                    if tag in cur or tag in cur.values():
                        cls = member
                        break
        else:
            cls = None
    return cls


def resolve_loc(loc: tuple[Any, ...], data: Any, root: type[BaseModel]) -> list[str | int]:
    """Turn a pydantic location (below model ``root``) into the field path in the document."""
    path: list[str | int] = []
    cls: Any = root
    i = 0
    while i < len(loc):
        el = loc[i]
        if isinstance(cls, type) and issubclass(cls, BaseModel):
            path.append(el)
            if el not in cls.model_fields:
                break  # an unknown key: nothing below it in the schema
            ann = cls.model_fields[el].annotation
            core = unwrap(ann)
            if typing.get_origin(core) in (list, tuple) and i + 1 < len(loc):
                i += 1
                path.append(loc[i])
                (item,) = typing.get_args(core)[:1] or (None,)
                core = unwrap(item)
            members = union_members(core)
            distinct = set(members.values())
            if i + 1 < len(loc) and loc[i + 1] in members and not (
                len(distinct) == 1 and loc[i + 1] in next(iter(distinct)).model_fields
            ):
                cls = members[loc[i + 1]]
                i += 1  # skip the union tag
            elif len(distinct) == 1:
                cls = next(iter(distinct))
            elif distinct:
                cls = None
            else:
                cls = None
        else:
            path.append(el)
        i += 1
    return path


def field_name(path: list[str | int]) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out
