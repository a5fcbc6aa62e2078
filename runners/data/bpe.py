"""Training a byte-level BPE tokenizer from scratch with the ``tokenizers`` library.

Digits are split one per token before the byte-level step (as Llama's tokenizer does),
so numbers never merge into opaque multi-digit tokens. Byte-level coverage means any
text encodes, even characters the training corpus lacks.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

PAD, BOS, EOS = "<pad>", "<s>", "</s>"
SPECIAL_TOKENS = [PAD, BOS, EOS]


def train_bpe(texts: Iterable[str], vocab_size: int, min_frequency: int):
    """A ``tokenizers.Tokenizer`` trained on ``texts`` (single-threaded, deterministic)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Digits(individual_digits=True),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True),
        ]
    )
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=min_frequency,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(list(texts), trainer=trainer)
    return tok


def wrap(tok):
    """Wrap a trained ``tokenizers.Tokenizer`` for transformers (pad/bos/eos set)."""
    from transformers import PreTrainedTokenizerFast

    return PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token=BOS, eos_token=EOS, pad_token=PAD, unk_token=None
    )


def train_and_save(texts: Iterable[str], vocab_size: int, min_frequency: int, out: Path) -> None:
    """Train, wrap and ``save_pretrained`` into ``out``."""
    wrap(train_bpe(texts, vocab_size, min_frequency)).save_pretrained(str(out))
