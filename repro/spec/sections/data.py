"""The ``data`` section: where rows come from, their format, cleaning, split and tokenizer."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    Discriminator,
    Field,
    Tag,
    model_validator,
)

from repro.contract.chat_templates import NAMED, is_jinja
from repro.spec.sections.common import Section, _by_key

BUILTINS = {
    "grammar": "text",
    "arithmetic": "instruction",
    "arithmetic-chat": "chat",
    "arithmetic-preference": "preference",
    "arithmetic-feedback": "feedback",
    "plural": "instruction",
}
# Each data format's columns and what each holds, checked by repro/spec/datafiles.py at
# validate time and again by the prepare stage: "text" a non-empty string, "text?" an
# optional string, "messages" a list of chat turns, "bool" true/false, "label" a feedback
# label (a boolean, 0/1, or one of LABEL_VALUES). A new format is one
# entry here (plus its name in Data.format).
FORMATS = {
    "text": {"text": "text"},
    "instruction": {"instruction": "text", "input": "text?", "output": "text"},
    "chat": {"messages": "messages"},
    "preference": {"prompt": "text", "chosen": "text", "rejected": "text"},
    "feedback": {"prompt": "text", "completion": "text", "label": "label"},
}
FORMAT_COLUMNS = {name: tuple(columns) for name, columns in FORMATS.items()}
# how a feedback row's label may be written in a file (read case-insensitively); booleans
# and the integers 0/1 are taken as they are
LABEL_VALUES = {"true": True, "desirable": True, "good": True, "yes": True, "1": True,
                "false": False, "undesirable": False, "bad": False, "no": False, "0": False}
HASH_PATTERN = r"^blake3:[0-9a-f]{64}$"


class BuiltinSource(Section):
    """Data the project generates itself, deterministic for a seed and size."""

    builtin: Literal["grammar", "arithmetic", "arithmetic-chat", "arithmetic-preference",
                     "arithmetic-feedback", "plural"] = Field(
        description="grammar: pretraining text; arithmetic: instruction rows with exact answers; "
        "arithmetic-chat: the same as chat conversations; arithmetic-preference: "
        "prompt/chosen/rejected pairs (chosen is the right answer); arithmetic-feedback: "
        "prompt/completion/label rows (label true for the right answer, false for a near miss); "
        "plural: instruction rows rewriting a singular clause in the plural (text-to-text, for "
        "BLEU/chrF/ROUGE)"
    )
    size: int = Field(4000, gt=0, le=2_000_000, description="rows to generate")


class PathSource(Section):
    """Local files: one file, or a folder of them (read with the `datasets` library)."""

    path: str = Field(
        description="a file or folder, relative to the workspace root; a folder holding "
        "train/validation/test files keeps those splits"
    )
    type: Literal["auto", "jsonl", "json", "csv", "parquet", "text"] = Field(
        "auto", description="file type; auto = from the file extensions"
    )
    text_unit: Literal["line", "file"] = Field(
        "line", description="plain text only: one row per line, or one row per file"
    )


class HubSource(Section):
    """A Hugging Face hub data set (needs the network or a local HF cache)."""

    hub: str = Field(description="the data set id, e.g. org/name")
    revision: str | None = Field(None, description="commit sha to pin (strongly advised)")
    subset: str | None = Field(None, description="configuration name, if the data set has several")


Source = Annotated[
    Annotated[BuiltinSource, Tag("builtin")]
    | Annotated[PathSource, Tag("path")]
    | Annotated[HubSource, Tag("hub")],
    Discriminator(
        _by_key("builtin", "path", "hub"),
        custom_error_type="source_kind",
        custom_error_message="must have one of the keys 'builtin', 'path' or 'hub'",
    ),
]


class NearDedupe(Section):
    """MinHash/LSH near-duplicate removal (datasketch)."""

    threshold: float = Field(0.85, gt=0, le=1, description="estimated Jaccard similarity")
    num_perm: int = Field(128, ge=16, le=1024, description="MinHash permutations")
    ngram: int = Field(5, ge=1, le=64, description="character shingle size")


class Decontaminate(Section):
    """Drop training rows that share a word n-gram with the validation or test split."""

    ngram: int = Field(8, ge=3, le=64, description="n-gram length in words")


class Clean(Section):
    normalize: Literal["NFC", "NFKC"] | None = Field(
        "NFC", description="unicode normalisation form; null = off"
    )
    whitespace: bool = Field(
        True, description="strip ends and collapse runs of spaces and tabs (newlines kept)"
    )
    min_chars: int = Field(1, ge=0, description="drop rows with fewer characters than this")
    max_chars: int | None = Field(None, gt=0, description="drop rows with more characters")
    min_tokens: int | None = Field(None, ge=0, description="drop rows with fewer tokens")
    max_tokens: int | None = Field(None, gt=0, description="drop rows with more tokens")
    dedupe: Literal["exact", "near", "none"] = Field(
        "exact", description="exact: identical rows; near: also MinHash near-duplicates"
    )
    near: NearDedupe = Field(default_factory=NearDedupe)
    decontaminate: Decontaminate | None = Field(
        None, description="remove training rows overlapping validation/test; null = off"
    )


class Split(Section):
    validation: float = Field(0.1, ge=0, le=0.5, description="fraction held out for validation")
    test: float = Field(0.1, ge=0, le=0.5, description="fraction held out for test")
    group_by: str | None = Field(
        None, description="a column: rows sharing its value land in the same split"
    )
    stratify_by: str | None = Field(
        None, description="a column: each split keeps its value proportions"
    )

    @model_validator(mode="after")
    def _one_mode(self) -> Split:
        if self.group_by and self.stratify_by:
            raise ValueError("set group_by or stratify_by, not both")
        return self


class TokenizerSpec(Section):
    """Train a tokenizer from scratch on the training split."""

    kind: Literal["bpe"] = Field("bpe", description="byte-level BPE (tokenizers library)")
    vocab_size: int = Field(512, ge=64, le=262_144)
    min_frequency: int = Field(2, ge=1)


class ChatTemplateFile(Section):
    """A Jinja chat template in a file inside the workspace."""

    file: str = Field(description="the template file, relative to the workspace root")


class Data(Section):
    source: Source = Field(
        description="where rows come from: {builtin: ...}, {path: ...} or {hub: ...}"
    )
    format: Literal["text", "instruction", "chat", "preference", "feedback"] = Field(
        "text",
        description="text: plain completion; instruction: instruction/input/output; "
        "chat: messages with roles; preference: prompt/chosen/rejected; feedback: "
        "prompt/completion/label (unpaired binary feedback: label true = desirable)",
    )
    columns: dict[str, str] = Field(
        default_factory=dict,
        description="rename source columns to the format's, e.g. {instruction: question}",
    )
    hash: str | None = Field(
        None,
        pattern=HASH_PATTERN,
        description="pinned content hash of the raw data (blake3:<hex>); `repro pin` writes it",
    )
    seed: int | None = Field(
        None, ge=0, description="seed for generation and splits; null = the spec's seed"
    )
    clean: Clean = Field(default_factory=Clean)
    split: Split = Field(default_factory=Split)
    tokenizer: TokenizerSpec | None = Field(
        None,
        description="train a new tokenizer (models built from a config); null = the base model's",
    )
    chat_template: str | ChatTemplateFile | None = Field(
        None,
        description="how conversations are rendered (chat, preference and feedback data): a "
        "name (default, chatml, llama3, zephyr), an inline Jinja template, or {file: PATH}; "
        "null = the tokenizer's own, or repro's default",
    )
    workers: int = Field(
        1, ge=1, le=256, description="processes for tokenization (does not change the result)"
    )

    @model_validator(mode="after")
    def _checks(self) -> Data:
        if self.split.validation + self.split.test >= 1:
            raise ValueError("split.validation + split.test must leave rows for training")
        template = self.chat_template
        if isinstance(template, str) and template not in NAMED and not is_jinja(template):
            raise ValueError(
                f"chat_template: '{template}' is neither a template name ({', '.join(NAMED)}) "
                "nor a Jinja template; for a file write chat_template: {file: PATH}"
            )
        allowed = FORMAT_COLUMNS[self.format]
        for target in self.columns:
            if target not in allowed:
                raise ValueError(
                    f"columns: '{target}' is not a column of format {self.format} "
                    f"(its columns: {', '.join(allowed)})"
                )
        return self
