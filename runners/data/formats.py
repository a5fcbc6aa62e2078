"""Rows of each data format as TRL's conversational examples, and their reference answers.

TRL trainers tokenize conversations themselves, through the tokenizer's chat template
(repro's default one renders ``Q: 17+5\\nA: 22</s>``, the same tokens as an instruction
row). The conversions:

- instruction ``{"instruction", "input", "output"}`` -> prompt ``[user]``, completion ``[assistant]``
- chat ``{"messages"}`` -> kept; its prompt is everything before the last assistant turn
- preference ``{"prompt", "chosen", "rejected"}`` -> the strings wrapped as one user turn and
  one assistant turn each (rows that already hold message lists are kept)
- feedback ``{"prompt", "completion", "label"}`` -> one user turn, one assistant turn, the label
- text ``{"text"}`` -> kept (plain language modelling)

The reference answer (for exact match and the verifiable reward) is the instruction's
output, the chat's last assistant turn, the preference pair's chosen answer, or a
feedback row's completion when it is labelled desirable (``answer_rows`` keeps those).
"""

from __future__ import annotations

from typing import Any

Messages = list[dict[str, Any]]


def user(content: str) -> Messages:
    return [{"role": "user", "content": content}]


def assistant(content: str) -> Messages:
    return [{"role": "assistant", "content": content}]


def _turns(value: Any, wrap) -> Messages:
    return list(value) if isinstance(value, list) else wrap(str(value))


def question(row: dict[str, Any]) -> str:
    """An instruction row's user turn: the instruction, then the input on its own line."""
    if row.get("input"):
        return f"{row['instruction']}\n{row['input']}"
    return row["instruction"]


def last_assistant(messages: Messages) -> int:
    for i in range(len(messages) - 1, -1, -1):
        if messages[i].get("role") == "assistant":
            return i
    raise ValueError("a conversation without an assistant turn has no answer")


def prompt_and_answer(row: dict[str, Any], fmt: str) -> tuple[Messages, str]:
    """The conversation to complete and the reference answer of one row."""
    if fmt == "instruction":
        return user(question(row)), row["output"]
    if fmt == "chat":
        messages = row["messages"]
        i = last_assistant(messages)
        return list(messages[:i]), messages[i]["content"]
    if fmt == "preference":
        chosen = _turns(row["chosen"], assistant)
        return _turns(row["prompt"], user), chosen[-1]["content"]
    if fmt == "feedback" and row["label"]:
        return _turns(row["prompt"], user), _turns(row["completion"], assistant)[-1]["content"]
    raise ValueError(f"{fmt} rows have no reference answer")


def answer_rows(rows: list[dict[str, Any]], fmt: str) -> list[dict[str, Any]]:
    """The rows that hold a reference answer: all of them, or a feedback set's desirable ones."""
    return [r for r in rows if r["label"]] if fmt == "feedback" else rows


def feedback_example(row: dict[str, Any]) -> dict[str, Any]:
    """A feedback row in TRL's conversational unpaired preference format (KTO)."""
    return {"prompt": _turns(row["prompt"], user),
            "completion": _turns(row["completion"], assistant),
            "label": bool(row["label"])}


def preference_example(row: dict[str, Any]) -> dict[str, Messages]:
    """A preference row in TRL's conversational preference format."""
    return {
        "prompt": _turns(row["prompt"], user),
        "chosen": _turns(row["chosen"], assistant),
        "rejected": _turns(row["rejected"], assistant),
    }


def sft_example(row: dict[str, Any], fmt: str) -> dict[str, Any]:
    """A row in the shape SFTTrainer takes: text, prompt/completion or messages."""
    if fmt == "text":
        return {"text": row["text"]}
    if fmt == "instruction":
        return {"prompt": user(question(row)), "completion": assistant(row["output"])}
    if fmt == "chat":
        return {"messages": row["messages"]}
    if fmt == "preference":  # train on the chosen answers
        p = preference_example(row)
        return {"prompt": p["prompt"], "completion": p["chosen"]}
    raise ValueError(f"unknown data format {fmt!r}")


def rl_example(row: dict[str, Any], fmt: str) -> dict[str, Any]:
    """A prompt to sample completions of, with its reference answer (GRPO)."""
    prompt, answer = prompt_and_answer(row, fmt)
    return {"prompt": prompt, "answer": answer}
