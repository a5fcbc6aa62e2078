"""Chat conversations: the default chat template and turning a conversation into tokens.

A tokenizer without a chat template (for example the BPE tokenizer trained from
scratch) gets ``DEFAULT_CHAT_TEMPLATE``, which renders a conversation in the same
``Q: ...\\nA: ...`` shape as the instruction format, so a one-turn conversation and the
matching instruction row become the same tokens. The assistant turns sit inside
``{% generation %}`` markers, which is what transformers' ``return_assistant_tokens_mask``
and TRL's ``assistant_only_loss`` need to label the assistant tokens only.
"""

from __future__ import annotations

from typing import Any

DEFAULT_CHAT_TEMPLATE = (
    "{{ bos_token }}"
    "{%- for message in messages -%}"
    "{%- if message['role'] == 'system' -%}"
    "{{ message['content'] + '\\n' }}"
    "{%- elif message['role'] == 'user' -%}"
    "{{ 'Q: ' + message['content'] + '\\n' }}"
    "{%- elif message['role'] == 'assistant' -%}"
    "A: {% generation %}{{ message['content'] }}{{ eos_token }}{% endgeneration %}"
    "{%- endif -%}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{ 'A: ' }}{%- endif -%}"
)
ROLES = ("system", "user", "assistant")


def ensure_template(tokenizer, template: str | None = None) -> str:
    """Set and return the chat template: ``template`` if given, else the tokenizer's own,
    else ``DEFAULT_CHAT_TEMPLATE``."""
    if template:
        tokenizer.chat_template = template
    elif not getattr(tokenizer, "chat_template", None):
        tokenizer.chat_template = DEFAULT_CHAT_TEMPLATE
    return tokenizer.chat_template


def encode_chat(tokenizer, messages: list[dict[str, Any]]) -> tuple[list[int], list[int]]:
    """Token ids and labels of a conversation: labels are the ids on assistant tokens,
    -100 everywhere else. The tokenizer must have a template with generation markers."""
    out = tokenizer.apply_chat_template(
        messages,
        tokenize=True,
        return_dict=True,
        return_assistant_tokens_mask=True,
    )
    ids = list(out["input_ids"])
    mask = list(out["assistant_masks"])
    return ids, [i if m else -100 for i, m in zip(ids, mask, strict=True)]
