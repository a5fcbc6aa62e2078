"""The prepare stage's records: ``manifest.json`` (what train and evaluate read) and ``card.json``.

Both live in ``runs/_data/<key>/``. The manifest names the prepared files and their hashes,
the data card tells a person what happened to the rows (``repro show --data``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from repro.contract import paths
from repro.contract.records.base import Part, Record, RecordError

MANIFEST_VERSION = 2
CARD_VERSION = 1
CARD = "card.json"


class RawFile(Part):
    """One file of the raw data: path inside the source, size, BLAKE3 (``blake3:<hex>``)."""

    path: str
    size: int
    hash: str


def _manifest_v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
    """v1 named the raw hash ``raw_sha256`` (a plain sha256 then) and kept row counts of the
    cleaning that the data card now holds; v2 adds the raw file listing, pin and cache key."""
    out = {k: v for k, v in data.items() if k not in ("raw_sha256", "raw_rows", "clean")}
    out.update(manifest_version=2, raw_hash=data.get("raw_sha256"), raw_files=[], pinned=None,
               cache_key=None)
    return out


class Manifest(Record):
    """``runs/_data/<key>/manifest.json``: what a prepared data set is made of."""

    KIND = "data manifest"
    VERSION_FIELD = "manifest_version"
    VERSION = MANIFEST_VERSION
    UPGRADES = {1: _manifest_v1_to_v2}

    manifest_version: Literal[2] = MANIFEST_VERSION
    dataset: dict[str, Any]  # the datasets.<key> entry of params.yaml, as prepared
    format: str
    source: str | None = None  # where the raw rows came from (a label: path:..., builtin:...)
    raw_hash: str | None = None  # BLAKE3 of the raw data (``blake3:<hex>``)
    raw_files: list[RawFile] = Field(default_factory=list)  # empty for generated data
    pinned: str | None = None  # the spec's data.hash, when it pins one
    cache_key: str | None = None  # content address: raw data + data section + tokenizer
    rows: dict[str, int] = Field(default_factory=dict)  # per split
    files: dict[str, str] = Field(default_factory=dict)  # sha256 per prepared file
    data_hash: str  # sha256 of the canonical JSON of ``files``


def load_manifest(data_dir: str | Path) -> Manifest:
    """The manifest of the prepared data set in ``data_dir``; a RecordError if it was never
    prepared (or its manifest cannot be read)."""
    path = Path(data_dir) / paths.DATA_MANIFEST
    if not path.is_file():
        raise RecordError(f"{data_dir}: prepared data not found (run the prepare stage first)")
    return Manifest.read(path)


def read_manifest(data_dir: str | Path) -> dict[str, Any]:
    """:func:`load_manifest` as the plain dict it validated (current version's keys)."""
    return load_manifest(data_dir).to_dict()


# ----------------------------------------------------------------------------- data card


class CardSource(Part):
    kind: str | None = None  # builtin | path | hub
    origin: str | None = None
    raw_hash: str | None = None
    files: list[RawFile] = Field(default_factory=list)


class CleaningStep(Part):
    """One cleaning or splitting step: rows left after it; dropping steps say how many they
    dropped with up to 3 samples, rewriting steps how many rows they changed."""

    step: str
    rows: int
    dropped: int | None = None
    changed: int | None = None
    samples: list[str] | None = None


class Bucket(Part):
    upto: int
    count: int


class TokenStats(Part):
    """Token counts of one split (only ``examples`` and ``total`` when it is empty)."""

    examples: int
    total: int
    min: int | None = None
    max: int | None = None
    mean: int | float | None = None
    p50: int | None = None
    p95: int | None = None
    histogram: list[Bucket] = Field(default_factory=list)


class CardTokenizer(Part):
    source: str  # trained | data | path | hub (where the tokenizer came from)
    ref: str | None = None
    vocab_size: int | None = None
    chat_template: bool | None = None


class DataCard(Record):
    """``runs/_data/<key>/card.json``: the data set's card, for people and ``repro show``."""

    KIND = "data card"
    VERSION_FIELD = "card_version"
    VERSION = CARD_VERSION

    card_version: Literal[1] = CARD_VERSION
    key: str
    format: str
    source: CardSource = Field(default_factory=CardSource)
    pinned: str | None = None
    cache_key: str | None = None
    split_method: str | None = None
    steps: list[CleaningStep] = Field(default_factory=list)
    splits: dict[str, int] = Field(default_factory=dict)
    tokens: dict[str, TokenStats] | None = None  # null for data not tokenized at prepare time
    tokenizer: CardTokenizer | None = None

    @property
    def loaded_rows(self) -> int | None:
        """Rows as loaded, before any cleaning."""
        return next((s.rows for s in self.steps if s.step == "loaded"), None)


def load_card(data_dir: str | Path) -> DataCard | None:
    """The data card of the prepared data set in ``data_dir``, or None when there is none."""
    path = Path(data_dir) / CARD
    return DataCard.read(path) if path.is_file() else None
