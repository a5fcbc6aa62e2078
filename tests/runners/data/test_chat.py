"""The default chat template: Q/A rendering, assistant-only labels."""

from __future__ import annotations

from runners.data import builtin, chat
from runners.data.batching import IGNORE, encode
from runners.data.bpe import train_bpe, wrap


def _tokenizer():
    rows = builtin.generate("arithmetic-chat", 300, 3)
    texts = [m["content"] for r in rows for m in r["messages"]] + ["Q: A: \n"]
    tok = wrap(train_bpe(texts, 300, 2))
    chat.ensure_template(tok)
    return tok


def test_labels_cover_exactly_the_assistant_tokens():
    tok = _tokenizer()
    messages = [
        {"role": "system", "content": "Answer with the number only."},
        {"role": "user", "content": "12+7"},
        {"role": "assistant", "content": "19"},
        {"role": "user", "content": "40-3"},
        {"role": "assistant", "content": "37"},
    ]
    ids, labels = chat.encode_chat(tok, messages)
    assert tok.decode(ids) == (
        "<s>Answer with the number only.\nQ: 12+7\nA: 19</s>Q: 40-3\nA: 37</s>"
    )
    labelled = [i for i, lab in zip(ids, labels, strict=True) if lab != IGNORE]
    expected = (
        tok("19", add_special_tokens=False)["input_ids"] + [tok.eos_token_id]
        + tok("37", add_special_tokens=False)["input_ids"] + [tok.eos_token_id]
    )
    assert labelled == expected
    assert all(lab in (IGNORE, i) for i, lab in zip(ids, labels, strict=True))


def test_one_turn_chat_equals_the_instruction_encoding():
    tok = _tokenizer()
    ids, labels = chat.encode_chat(
        tok, [{"role": "user", "content": "96-4"}, {"role": "assistant", "content": "92"}]
    )
    e = encode(tok, {"instruction": "96-4", "input": "", "output": "92"}, "instruction", 64)
    assert (ids, labels) == (e.input_ids, e.labels)


def test_generation_prompt_matches_the_instruction_prompt():
    tok = _tokenizer()
    text = tok.apply_chat_template(
        [{"role": "user", "content": "1+2"}], tokenize=False, add_generation_prompt=True
    )
    assert text == "<s>Q: 1+2\nA: "


def test_an_existing_template_is_kept():
    tok = _tokenizer()
    tok.chat_template = "{{ messages[0]['content'] }}"
    chat.ensure_template(tok)
    assert tok.chat_template == "{{ messages[0]['content'] }}"
