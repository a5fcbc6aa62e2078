"""The one prompt template for instruction data, shared by train and evaluate.

A row ``{"instruction": "17+5", "input": "", "output": "22"}`` becomes the prompt
``"Q: 17+5\\nA: "`` followed by the response ``"22"`` and the end-of-sequence token.
The loss is taken on the response and EOS only; evaluation generates after the prompt.
"""

from __future__ import annotations

PROMPT_TEMPLATE = "Q: {instruction}\nA: "
PROMPT_TEMPLATE_WITH_INPUT = "Q: {instruction}\n{input}\nA: "


def format_prompt(row: dict[str, str]) -> str:
    if row.get("input"):
        return PROMPT_TEMPLATE_WITH_INPUT.format(instruction=row["instruction"], input=row["input"])
    return PROMPT_TEMPLATE.format(instruction=row["instruction"])


def full_text(row: dict, fmt: str) -> str:
    """The whole text of a row as the model sees it (used to train a tokenizer)."""
    if fmt == "text":
        return row["text"]
    if fmt == "chat":
        return "\n".join(m["content"] for m in row["messages"])
    if fmt == "preference":
        prompt = format_prompt({"instruction": row["prompt"]})
        return f"{prompt}{row['chosen']}\n{prompt}{row['rejected']}"
    if fmt == "feedback":
        return format_prompt({"instruction": row["prompt"]}) + row["completion"]
    return format_prompt(row) + row["output"]
