"""Training examples from tokenized splits: truncation is counted, packing fills blocks."""

from __future__ import annotations

from runners.data.examples import load_examples, pack, write_tokens

IGNORE = -100


def _data(tmp_path, pairs):
    (tmp_path / "tokens").mkdir()
    write_tokens(pairs, tmp_path / "tokens" / "train.parquet")
    return tmp_path


def test_truncation_is_counted_and_label_less_examples_dropped(tmp_path):
    pairs = [
        ([1, 2, 3], [1, 2, 3]),  # fits
        ([1, 2, 3, 4, 5, 6], [1, 2, 3, 4, 5, 6]),  # truncated, still labelled
        ([1, 7, 7, 7, 7, 9], [IGNORE] * 5 + [9]),  # the answer is cut off: dropped
    ]
    loaded = load_examples(_data(tmp_path, pairs), "train", max_length=4)
    assert [e.input_ids for e in loaded.examples] == [[1, 2, 3], [1, 2, 3, 4]]
    assert (loaded.truncated, loaded.dropped, loaded.source_examples) == (2, 1, 3)


def test_packing_concatenates_into_full_blocks():
    pairs = [([1, 2, 3], [IGNORE, 2, 3]), ([4, 5], [4, 5]), ([6, 7, 8, 9], [IGNORE, 7, 8, 9])]
    blocks = pack(pairs, 4)
    assert [b.input_ids for b in blocks] == [[1, 2, 3, 4], [5, 6, 7, 8], [9]][:2]
    assert [b.labels for b in blocks] == [[IGNORE, 2, 3, 4], [5, IGNORE, 7, 8]]
    # nothing is lost but a trailing block too short to train on
    assert sum(len(b.input_ids) for b in blocks) == 8


def test_packing_through_load_examples(tmp_path):
    pairs = [([1, 2], [1, 2])] * 10
    loaded = load_examples(_data(tmp_path, pairs), "train", max_length=8, packing=True)
    assert loaded.packed and [len(e.input_ids) for e in loaded.examples] == [8, 8, 4]
