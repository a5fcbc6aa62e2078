"""The metrics: perplexity and exact match, for one model on a list of rows."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from runners.batching import IGNORE, collate, encode_all, left_pad, prompt_ids

METRICS = ("perplexity", "exact_match")


def perplexity(
    model, tokenizer, rows: Sequence[dict], fmt: str, max_length: int, batch_size: int
) -> float:
    """exp(mean token NLL): every token for text, response tokens and EOS for instructions."""
    import torch
    import torch.nn.functional as F

    examples = encode_all(tokenizer, rows, fmt, max_length)
    nll, count = 0.0, 0
    model.eval()
    with torch.no_grad():
        for i in range(0, len(examples), batch_size):
            batch = collate(examples[i : i + batch_size], tokenizer.pad_token_id)
            logits = model(
                input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]
            ).logits
            logits = logits[:, :-1].float()
            labels = batch["labels"][:, 1:]
            nll += F.cross_entropy(
                logits.reshape(-1, logits.size(-1)),
                labels.reshape(-1),
                ignore_index=IGNORE,
                reduction="sum",
            ).item()
            count += int((labels != IGNORE).sum())
    return math.exp(nll / count) if count else math.nan


def generate_answers(
    model, tokenizer, rows: Sequence[dict], max_new_tokens: int, batch_size: int
) -> list[str]:
    """Greedy completions of each row's prompt (batched, left padding), stripped."""
    import torch

    answers: list[str] = []
    model.eval()
    with torch.no_grad():
        for i in range(0, len(rows), batch_size):
            prompts = [prompt_ids(tokenizer, r) for r in rows[i : i + batch_size]]
            batch = left_pad(prompts, tokenizer.pad_token_id)
            out = model.generate(
                **batch,
                max_new_tokens=max_new_tokens,
                do_sample=False,
                pad_token_id=tokenizer.pad_token_id,
                eos_token_id=tokenizer.eos_token_id,
            )
            new = out[:, batch["input_ids"].shape[1] :]
            answers += [t.strip() for t in tokenizer.batch_decode(new, skip_special_tokens=True)]
    return answers


def exact_match(answers: Sequence[str], rows: Sequence[dict]) -> float:
    hits = sum(a == r["output"].strip() for a, r in zip(answers, rows, strict=True))
    return hits / len(rows) if rows else math.nan


def score(
    model, tokenizer, rows: Sequence[dict], fmt: str, evaluate: dict[str, Any], max_length: int
) -> dict:
    """The metrics ``evaluate["metrics"]`` asks for (exact_match on instruction data only),
    floats rounded to 6 digits, plus ``n_examples``; and up to 3 sample answers under
    ``_samples`` (not written to metrics.json)."""
    out: dict[str, Any] = {"n_examples": len(rows)}
    wanted = list(evaluate["metrics"])
    if "perplexity" in wanted:
        out["perplexity"] = round(
            perplexity(model, tokenizer, rows, fmt, max_length, int(evaluate["batch_size"])), 6
        )
    if "exact_match" in wanted and fmt == "instruction":
        answers = generate_answers(
            model, tokenizer, rows, int(evaluate["max_new_tokens"]), int(evaluate["batch_size"])
        )
        out["exact_match"] = round(exact_match(answers, rows), 6)
        out["_samples"] = [(format_row(r), a) for r, a in zip(rows[:3], answers[:3], strict=True)]
    return out


def format_row(row: dict) -> str:
    return f"{row['instruction']} -> {row['output']}"
