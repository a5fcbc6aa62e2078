"""Token ids, labels and padded batches.

- text rows: ``<bos> text <eos>``; the loss is on every token.
- instruction rows: ``<bos> prompt`` then ``response <eos>`` (prompt and response are
  tokenized separately, exactly as at generation time); the prompt is labelled -100,
  so the loss is on the response and EOS only.

``encode`` does one row: it is the reference that the batched tokenizer of the prepare
stage (``runners.data.tokenize``) must match, and a test holds them equal. Padding is
per batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from runners.data.prompting import format_prompt

IGNORE = -100


@dataclass(frozen=True)
class Example:
    input_ids: list[int]
    labels: list[int]


def read_rows(path: Path) -> list[dict[str, str]]:
    import json

    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def _ids(tokenizer, text: str) -> list[int]:
    return tokenizer(text, add_special_tokens=False, verbose=False)["input_ids"]


def _bos(tokenizer) -> list[int]:
    return [] if tokenizer.bos_token_id is None else [tokenizer.bos_token_id]


def _eos(tokenizer) -> list[int]:
    return [] if tokenizer.eos_token_id is None else [tokenizer.eos_token_id]


def prompt_ids(tokenizer, row: dict[str, str]) -> list[int]:
    return _bos(tokenizer) + _ids(tokenizer, format_prompt(row))


def encode(tokenizer, row: dict[str, str], fmt: str, max_length: int) -> Example:
    if fmt == "text":
        ids = _bos(tokenizer) + _ids(tokenizer, row["text"]) + _eos(tokenizer)
        ids = ids[:max_length]
        return Example(ids, list(ids))
    prompt = prompt_ids(tokenizer, row)
    response = _ids(tokenizer, row["output"]) + _eos(tokenizer)
    ids = (prompt + response)[:max_length]
    labels = ([IGNORE] * len(prompt) + response)[:max_length]
    return Example(ids, labels)


def collate(examples: Sequence[Example], pad_id: int):
    """Right-padded ``input_ids``, ``attention_mask`` and ``labels`` tensors."""
    import torch

    width = max(len(e.input_ids) for e in examples)
    ids = torch.full((len(examples), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(examples), width), dtype=torch.long)
    labels = torch.full((len(examples), width), IGNORE, dtype=torch.long)
    for i, e in enumerate(examples):
        n = len(e.input_ids)
        ids[i, :n] = torch.tensor(e.input_ids)
        mask[i, :n] = 1
        labels[i, :n] = torch.tensor(e.labels)
    return {"input_ids": ids, "attention_mask": mask, "labels": labels}


def left_pad(sequences: Sequence[list[int]], pad_id: int):
    """Left-padded ``input_ids`` and ``attention_mask`` for batched generation."""
    import torch

    width = max(len(s) for s in sequences)
    ids = torch.full((len(sequences), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(sequences), width), dtype=torch.long)
    for i, s in enumerate(sequences):
        ids[i, width - len(s) :] = torch.tensor(s)
        mask[i, width - len(s) :] = 1
    return {"input_ids": ids, "attention_mask": mask}
