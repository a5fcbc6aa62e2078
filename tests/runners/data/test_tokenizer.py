from runners.data.bpe import BOS, EOS, PAD, train_and_save, train_bpe, wrap
from runners.data.builtin.grammar import grammar


def _texts():
    return [r["text"] for r in grammar(300, 5)]


def test_round_trip_through_save_pretrained(tmp_path):
    from transformers import AutoTokenizer

    train_and_save(_texts(), 300, 2, tmp_path / "tok")
    tok = AutoTokenizer.from_pretrained(str(tmp_path / "tok"))
    assert (tok.pad_token, tok.bos_token, tok.eos_token) == (PAD, BOS, EOS)
    assert (tok.pad_token_id, tok.bos_token_id, tok.eos_token_id) == (0, 1, 2)
    assert len(tok) == 300
    for text in [
        "the small cats that the dog sees run quickly .",
        "Q: 97+9\nA: 106",
        "anna says 7-3=4 . Unseen: ßé ✓",
    ]:
        ids = tok(text, add_special_tokens=False)["input_ids"]
        assert tok.decode(ids) == text


def test_digits_are_single_tokens():
    tok = wrap(train_bpe(_texts(), 300, 2))
    pieces = tok.tokenize("12+345=357")
    assert pieces == ["1", "2", "+", "3", "4", "5", "=", "3", "5", "7"]


def test_training_is_deterministic():
    a = train_bpe(_texts(), 300, 2).to_str()
    b = train_bpe(_texts(), 300, 2).to_str()
    assert a == b
