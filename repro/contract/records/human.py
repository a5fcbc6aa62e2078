"""The human-evaluation files: a sheet's key (sides -> specs) and an annotator's judgments.

``<sheet>/key.json`` (:class:`SheetKey`) is written by ``repro human export`` next to the
sheet it decodes and is never shown to annotators; ``<sheet>/judgments/<annotator>.json``
(:class:`Judgments`) is written by ``repro human import`` from the file the sheet saved.
The scoring stage reads both. Verdicts are about sides: ``A`` (left) is better, ``B``
(right) is better, ``tie``, or ``both_bad``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from repro.contract.records.base import FileRef, Part, Record

KEY_FILE = "key.json"
SHEET_HTML = "sheet.html"
SHEET_CSV = "sheet.csv"
JUDGMENTS_DIR = "judgments"
VERDICTS = ("A", "B", "tie", "both_bad")
ANNOTATOR_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
Verdict = Literal["A", "B", "tie", "both_bad"]


class SheetSystem(Part):
    spec: str
    path: str  # the model whose answers were shown
    sha256: str | None = None
    record: FileRef | None = None  # its train lineage record


class SheetItem(Part):
    item: int  # the number the annotator sees (1-based, in sheet order)
    prompt: int  # index of the prompt in the split
    A: str  # the spec shown on the left
    B: str  # ... and on the right


class SheetKey(Record):
    """``<sheet>/key.json``: which spec is on which side of every item."""

    KIND = "human-evaluation key"
    VERSION_FIELD = "human_key_version"
    VERSION = 1

    human_key_version: Literal[1] = 1
    sheet_id: str
    spec: str  # the spec whose human_eval section made the sheet
    seed: int
    split: str
    systems: list[SheetSystem]
    items: list[SheetItem]
    files: dict[str, str] = Field(default_factory=dict)  # sha256 of sheet.html, sheet.csv

    def sides(self) -> dict[int, dict[str, str]]:
        return {i.item: {"A": i.A, "B": i.B} for i in self.items}


class Judgment(Part):
    item: int
    verdict: Verdict


class Judgments(Record):
    """``<sheet>/judgments/<annotator>.json``: one annotator's verdicts on one sheet."""

    KIND = "judgments file"
    VERSION_FIELD = "human_judgments_version"
    VERSION = 1

    human_judgments_version: Literal[1] = 1
    sheet_id: str
    annotator: str = Field(pattern=ANNOTATOR_PATTERN)
    judgments: list[Judgment]
