"""What every record model shares: known fields only, a version that upgrades, stable bytes.

A record is read with ``<Model>.load(data)``: a file of an older version is upgraded first
(each model lists its steps in ``UPGRADES``, one function per version), a newer one is refused,
then the result is validated. It is written with ``to_json()``: sorted keys, 2-space indent
(``fsio.dump_json``), and only the fields that were set, so the bytes keep the shape the writer
gave them (a field that is absent stays absent, an explicit null stays null).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict, ValidationError

from repro.contract.fsio import dump_json, write_text_atomic


class RecordError(Exception):
    """A record file that is missing, not JSON, of an unknown version, or malformed.

    Each plane turns it into its own user-facing error (one ``error:`` line, no traceback).
    """


class Part(BaseModel):
    """An object inside a record: known fields only, so a misspelt key fails at the writer."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, defer_build=True)


class Open(BaseModel):
    """An object whose fields another module decides (seeding report, hardware): kept whole."""

    model_config = ConfigDict(extra="allow", populate_by_name=True, defer_build=True)


class FileRef(Part):
    """A file by path (relative to the workspace) and the sha256 of its bytes."""

    path: str
    sha256: str


class Record(Part):
    """A versioned JSON file one stage writes and others read."""

    KIND: ClassVar[str]  # what the file is called in messages
    VERSION_FIELD: ClassVar[str]
    VERSION: ClassVar[int]
    # version N -> a function turning an N-shaped dict into an (N+1)-shaped one
    UPGRADES: ClassVar[dict[int, Callable[[dict[str, Any]], dict[str, Any]]]] = {}

    def model_post_init(self, context: Any, /) -> None:
        # the version is always written, even when the writer left it to its default
        self.__pydantic_fields_set__.add(self.VERSION_FIELD)

    @classmethod
    def version_of(cls, data: dict[str, Any]) -> Any:
        return data.get(cls.VERSION_FIELD)

    @classmethod
    def upgrade(cls, data: dict[str, Any], where: str = "") -> dict[str, Any]:
        """``data`` (any version this repro knows) in the shape of the current version."""
        version = cls.version_of(data)
        if not isinstance(version, int) or isinstance(version, bool):
            raise RecordError(f"{where or cls.KIND}: no {cls.VERSION_FIELD} (not a {cls.KIND})")
        if version > cls.VERSION:
            raise RecordError(f"{where or cls.KIND}: {cls.KIND} version {version} was written by a "
                              f"newer repro (this one reads up to {cls.VERSION}); upgrade repro")
        while version < cls.VERSION:
            step = cls.UPGRADES.get(version)
            if step is None:
                raise RecordError(f"{where or cls.KIND}: {cls.KIND} version {version} can no "
                                  "longer be read; rebuild it")
            data = step(data)
            version = cls.version_of(data)
        return data

    @classmethod
    def load(cls, data: Any, where: str = "") -> Self:
        """The record in ``data`` (a parsed JSON object of any known version), validated."""
        if not isinstance(data, dict):
            raise RecordError(f"{where or cls.KIND}: not a JSON object")
        data = cls.upgrade(data, where)
        try:
            return cls.model_validate(data)
        except ValidationError as e:
            raise RecordError(f"{where or cls.KIND}: not a valid {cls.KIND}: {brief(e)}") from None

    @classmethod
    def read(cls, path: str | os.PathLike) -> Self:
        """The record in file ``path``; a RecordError if it is missing or malformed."""
        return cls.load(read_object(path), str(path))

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True, exclude_unset=True)

    def to_json(self) -> str:
        return dump_json(self.to_dict())

    def write(self, path: str | os.PathLike) -> None:
        """Write the record atomically (temporary sibling, then rename)."""
        write_text_atomic(path, self.to_json())


def read_object(path: str | os.PathLike) -> Any:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RecordError(f"{path}: not found") from None
    except OSError as e:
        raise RecordError(f"{path}: cannot read: {e.strerror or e}") from None
    return parse(text, str(path))


def parse(raw: bytes | str, where: str = "") -> Any:
    """JSON text or bytes -> the parsed value; a RecordError when it is not JSON."""
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, ValueError) as e:
        raise RecordError(f"{where or 'record'}: not JSON ({e})") from None


def brief(e: ValidationError, most: int = 3) -> str:
    """The first few problems of a validation error, one clause each."""
    parts = []
    for err in e.errors()[:most]:
        loc = ".".join(str(x) for x in err["loc"]) or "(top)"
        parts.append(f"{loc}: {err['msg']}")
    more = len(e.errors()) - most
    return "; ".join(parts) + (f" (+{more} more)" if more > 0 else "")
