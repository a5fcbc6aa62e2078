"""Chat conversations: the default chat template and turning a conversation into tokens.

A tokenizer without a chat template (for example the BPE tokenizer trained from
scratch) gets ``DEFAULT_CHAT_TEMPLATE``, which renders a conversation in the same
``Q: ...\\nA: ...`` shape as the instruction format, so a one-turn conversation and the
matching instruction row become the same tokens. The assistant turns sit inside
``{% generation %}`` markers, which is what transformers' ``return_assistant_tokens_mask``
and TRL's ``assistant_only_loss`` need to label the assistant tokens only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from repro.contract import chat_templates
from runners.errors import RunnerError

DEFAULT_CHAT_TEMPLATE = chat_templates.DEFAULT
ROLES = ("system", "user", "assistant")


def template_text(dataset: dict[str, Any], root: Path) -> str | None:
    """The Jinja text of a prepared data set's ``chat_template`` (``dataset`` = its params
    entry): a named template, inline Jinja, or a file in the workspace whose text must
    still hash to what the compiler recorded; None when the spec sets none."""
    template = dataset.get("chat_template")
    if template is None:
        return None
    if isinstance(template, dict):
        path = Path(root) / template["file"]
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as e:
            raise RunnerError(f"data.chat_template.file: cannot read {template['file']} "
                              f"({e.strerror or e})") from None
        recorded = dataset.get("chat_template_hash")
        if recorded and chat_templates.template_hash(text) != recorded:
            raise RunnerError(f"data.chat_template.file: {template['file']} changed since the "
                              "spec was compiled; run `repro compile` (or `repro`) again")
        return text
    return chat_templates.NAMED.get(template, template)


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
