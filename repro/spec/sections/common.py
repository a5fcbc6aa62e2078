"""What every spec section shares: the strict base model and the by-key discriminator."""

from __future__ import annotations

from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
)


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)


def _by_key(*keys: str):
    """A discriminator that picks a union member by which key the mapping has."""

    def pick(value: Any) -> str | None:
        if isinstance(value, dict):
            for key in keys:
                if key in value:
                    return key
            return None
        for key in keys:
            if getattr(value, key, None) is not None:
                return key
        return None

    return pick
