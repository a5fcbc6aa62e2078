"""Training and evaluation examples from a prepared data set's tokenized splits (and that file format).

``max_length`` truncates on the right (each truncated example is counted); an
example whose labelled tokens were all cut off teaches nothing and is dropped (also
counted). With ``packing``, examples are concatenated in order and cut into blocks of
exactly ``max_length`` tokens (the last block may be shorter), so no padding is spent;
attention then spans example boundaries, the usual trade of packed training.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from runners.data.batching import IGNORE, Example
from runners.errors import RunnerError

TOKENS_DIR = "tokens"


@dataclass
class Loaded:
    examples: list[Example]
    source_examples: int  # tokenized examples read
    truncated: int  # examples longer than max_length
    dropped: int  # examples left without a labelled token after truncation
    packed: bool = False

    def stats(self) -> dict[str, int | bool]:
        return {
            "source_examples": self.source_examples,
            "truncated": self.truncated,
            "dropped_no_labels": self.dropped,
            "packed": self.packed,
        }


def tokens_path(data_dir: Path, split: str) -> Path:
    return data_dir / TOKENS_DIR / f"{split}.parquet"


def write_tokens(pairs: list[tuple[list, list]], path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table(
        {
            "input_ids": pa.array([p[0] for p in pairs], type=pa.list_(pa.int32())),
            "labels": pa.array([p[1] for p in pairs], type=pa.list_(pa.int32())),
        }
    )
    pq.write_table(table, path, compression="zstd")


def read_tokens(path: Path) -> list[tuple[list[int], list[int]]]:
    import pyarrow.parquet as pq

    # ParquetFile, not read_table: the same table without pyarrow.dataset (and pandas, ~0.3 s)
    table = pq.ParquetFile(path).read(columns=["input_ids", "labels"])
    return list(zip(table.column("input_ids").to_pylist(), table.column("labels").to_pylist(),
                    strict=True))


def load_examples(
    data_dir: Path, split: str, max_length: int, packing: bool = False, limit: int | None = None
) -> Loaded:
    path = tokens_path(data_dir, split)
    if not path.is_file():
        raise RunnerError(
            f"{path}: no tokenized {split} split (preference data is not tokenized, and "
            "data prepared without a tokenizer has none)"
        )
    pairs = read_tokens(path)
    if limit is not None:
        pairs = pairs[:limit]
    if packing:
        return Loaded(pack(pairs, max_length), len(pairs), 0, 0, packed=True)
    examples, truncated, dropped = [], 0, 0
    for ids, labels in pairs:
        if len(ids) > max_length:
            truncated += 1
            ids, labels = ids[:max_length], labels[:max_length]
        if not any(lab != IGNORE for lab in labels[1:]):
            dropped += 1
            continue
        examples.append(Example(ids, labels))
    return Loaded(examples, len(pairs), truncated, dropped)


def pack(pairs: list[tuple[list[int], list[int]]], max_length: int) -> list[Example]:
    """Concatenate examples in order and cut the stream into ``max_length`` blocks."""
    ids: list[int] = []
    labels: list[int] = []
    for i, lab in pairs:
        ids += i
        labels += lab
    out = []
    for start in range(0, len(ids), max_length):
        block_ids, block_labels = ids[start : start + max_length], labels[start : start + max_length]
        if len(block_ids) > 1 and any(lab != IGNORE for lab in block_labels[1:]):
            out.append(Example(block_ids, block_labels))
    return out
