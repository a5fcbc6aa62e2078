"""Named chat templates and template files: each renders its own layout, marks exactly the
assistant's tokens for the loss, and a file that changed after compiling is refused."""

from __future__ import annotations

import pytest

from repro.contract import chat_templates
from runners.data import builtin, chat
from runners.data.batching import IGNORE
from runners.data.bpe import train_bpe, wrap
from runners.errors import RunnerError

MESSAGES = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "12+7"},
            {"role": "assistant", "content": "19"}]
RENDERED = {
    "default": "<s>Be brief.\nQ: 12+7\nA: 19</s>",
    "chatml": "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\n12+7<|im_end|>\n"
              "<|im_start|>assistant\n19<|im_end|>\n",
    "llama3": "<s><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
              "<|start_header_id|>user<|end_header_id|>\n\n12+7<|eot_id|>"
              "<|start_header_id|>assistant<|end_header_id|>\n\n19<|eot_id|>",
    "zephyr": "<|system|>\nBe brief.</s>\n<|user|>\n12+7</s>\n<|assistant|>\n19</s>\n",
}
ANSWER = {"default": "19</s>", "chatml": "19<|im_end|>", "llama3": "19<|eot_id|>",
          "zephyr": "19</s>"}


def _tokenizer():
    rows = builtin.generate("arithmetic-chat", 200, 3)
    texts = [m["content"] for r in rows for m in r["messages"]] + list(RENDERED.values())
    return wrap(train_bpe(texts, 400, 2))


@pytest.mark.parametrize("name", sorted(chat_templates.NAMED))
def test_named_template_renders_and_masks_the_answer(name):
    tok = _tokenizer()
    text = chat.template_text({"chat_template": name}, ".")
    chat.ensure_template(tok, text)
    assert tok.apply_chat_template(MESSAGES, tokenize=False) == RENDERED[name]
    ids, labels = chat.encode_chat(tok, MESSAGES)
    kept = [i for i, lab in zip(ids, labels, strict=True) if lab != IGNORE]
    assert tok.decode(kept) == ANSWER[name]
    prompt = tok.apply_chat_template(MESSAGES[:2], tokenize=False, add_generation_prompt=True)
    assert RENDERED[name].startswith(prompt)  # the generation prompt is a prefix


def test_template_file_is_read_and_checked_against_its_compiled_hash(tmp_path):
    jinja = chat_templates.ZEPHYR
    (tmp_path / "t.jinja").write_text(jinja)
    dataset = {"chat_template": {"file": "t.jinja"},
               "chat_template_hash": chat_templates.template_hash(jinja)}
    assert chat.template_text(dataset, tmp_path) == jinja
    (tmp_path / "t.jinja").write_text(jinja + "\n")
    with pytest.raises(RunnerError, match="t.jinja changed since the spec was compiled"):
        chat.template_text(dataset, tmp_path)
    assert chat.template_text({"chat_template": None}, tmp_path) is None
    inline = "{{ messages[0]['content'] }}"
    assert chat.template_text({"chat_template": inline}, tmp_path) == inline


def test_prepare_renders_chats_with_the_named_template(tmp_path):
    from repro.contract import paths
    from runners.data.examples import load_examples
    from runners.models.modeling import load_tokenizer
    from runners.prepare import prepare

    dataset = {"source": {"builtin": "arithmetic-chat", "size": 60}, "format": "chat",
               "seed": 1, "tokenizer": {"kind": "bpe", "vocab_size": 300},
               "chat_template": "zephyr",
               "chat_template_hash": chat_templates.template_hash(chat_templates.ZEPHYR)}
    prepare(dataset, tmp_path / "z", tmp_path)
    tok = load_tokenizer(tmp_path / "z" / paths.TOKENIZER_DIR)
    assert tok.chat_template == chat_templates.ZEPHYR
    ex = load_examples(tmp_path / "z", "train", 256, False).examples[0]
    assert tok.decode(ex.input_ids).startswith(("<|user|>\n", "<|system|>\n"))
    answer = [i for i, lab in zip(ex.input_ids, ex.labels, strict=True) if lab != IGNORE]
    assert tok.decode(answer).endswith("</s>") and "<|" not in tok.decode(answer)
