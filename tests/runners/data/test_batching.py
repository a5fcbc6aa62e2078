import pytest

from runners.data.batching import IGNORE, collate, encode, left_pad
from runners.data.bpe import train_bpe, wrap
from runners.data.prompting import PROMPT_TEMPLATE, format_prompt


@pytest.fixture(scope="module")
def tok():
    texts = ["the cat sleeps . 3+4=7 .", "Q: 12+3\nA: 15"] * 20
    return wrap(train_bpe(texts, 280, 1))


def test_instruction_loss_is_on_response_and_eos_only(tok):
    row = {"instruction": "12+3", "input": "", "output": "15"}
    ex = encode(tok, row, "instruction", 64)
    n_prompt = 1 + len(tok(format_prompt(row), add_special_tokens=False)["input_ids"])
    assert ex.input_ids[0] == tok.bos_token_id
    assert ex.labels[:n_prompt] == [IGNORE] * n_prompt
    response = ex.labels[n_prompt:]
    assert response[-1] == tok.eos_token_id
    assert tok.decode(response[:-1]) == "15"
    assert ex.input_ids[n_prompt:] == response


def test_text_loss_is_on_every_token(tok):
    ex = encode(tok, {"text": "the cat sleeps ."}, "text", 64)
    assert ex.labels == ex.input_ids
    assert ex.input_ids[0] == tok.bos_token_id and ex.input_ids[-1] == tok.eos_token_id
    assert len(encode(tok, {"text": "the cat sleeps . " * 20}, "text", 10).input_ids) == 10


def test_padding_sides(tok):
    a = encode(tok, {"text": "the cat"}, "text", 64)
    b = encode(tok, {"text": "the cat sleeps . the cat sleeps ."}, "text", 64)
    batch = collate([a, b], tok.pad_token_id)
    assert batch["input_ids"][0, -1] == tok.pad_token_id
    assert batch["labels"][0, -1] == IGNORE
    assert batch["attention_mask"][0].sum() == len(a.input_ids)
    left = left_pad([[5, 6], [5, 6, 7]], tok.pad_token_id)
    assert left["input_ids"].tolist() == [[tok.pad_token_id, 5, 6], [5, 6, 7]]
    assert left["attention_mask"].tolist() == [[0, 1, 1], [1, 1, 1]]


@pytest.mark.parametrize("fmt", ["text", "instruction"])
def test_batched_tokenization_equals_the_per_example_encoding(tok, fmt):
    from runners.data.tokenize import tokenize

    if fmt == "text":
        rows = [{"text": f"the cat sleeps {i} ."} for i in range(30)]
    else:
        rows = [{"instruction": f"{i}+3", "input": "" if i % 2 else "x", "output": str(i + 3)}
                for i in range(30)]
    batched = tokenize(tok, rows, fmt)
    one_by_one = [encode(tok, r, fmt, 10**6) for r in rows]
    assert batched == [(e.input_ids, e.labels) for e in one_by_one]


def test_prompt_template():
    assert PROMPT_TEMPLATE == "Q: {instruction}\nA: "
    assert format_prompt({"instruction": "1+2", "input": ""}) == "Q: 1+2\nA: "
    assert format_prompt({"instruction": "add", "input": "1 2"}) == "Q: add\n1 2\nA: "
