"""The metrics: perplexity and exact match, for one model on a list of rows."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from repro.contract import progress
from repro.spec.sections.evaluate import ANSWER_FORMATS
from runners.data.batching import IGNORE, Example, collate, left_pad, prompt_ids


def perplexity(model, tokenizer, examples: Sequence[Example], batch_size: int) -> float:
    """exp(mean NLL of the labelled tokens): every token for text, the response and EOS for
    instructions, the assistant turns for chat."""
    import torch
    import torch.nn.functional as F

    nll, count = 0.0, 0
    model.eval()
    bar = progress.task("examples", len(examples), label="evaluate perplexity", say=print)
    with torch.no_grad():
        for i in range(0, len(examples), batch_size):
            bar.update(i)
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
    bar.update(len(examples))
    bar.close()
    return math.exp(nll / count) if count else math.nan


def question_answer(tokenizer, row: dict, fmt: str) -> tuple[list[int], str, str]:
    """The prompt ids, the expected answer and a label for display: an instruction row's
    prompt, or a conversation up to its last assistant turn (through the chat template)."""
    if fmt in ("preference", "feedback"):
        from runners.data.formats import prompt_and_answer
        from runners.scoring.preference import chat_ids

        prompt, answer = prompt_and_answer(row, fmt)
        return chat_ids(tokenizer, prompt, generation_prompt=True), answer, str(row["prompt"])
    if fmt == "chat":
        messages = row["messages"]
        last = max(i for i, m in enumerate(messages) if m["role"] == "assistant")
        ids = tokenizer.apply_chat_template(
            messages[:last], tokenize=True, add_generation_prompt=True, return_dict=True
        )["input_ids"]
        question = messages[last - 1]["content"] if last else ""
        return list(ids), messages[last]["content"], question
    return prompt_ids(tokenizer, row), row["output"], row["instruction"]


def generate_answers(
    model, tokenizer, prompts_ids: Sequence[list[int]], max_new_tokens: int, batch_size: int
) -> list[str]:
    """Greedy completions of each prompt (batched, left padding), stripped."""
    import torch

    answers: list[str] = []
    model.eval()
    bar = progress.task("examples", len(prompts_ids), label="evaluate generation", say=print)
    with torch.no_grad():
        for i in range(0, len(prompts_ids), batch_size):
            bar.update(i)
            prompts = list(prompts_ids[i : i + batch_size])
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
    bar.update(len(prompts_ids))
    bar.close()
    return answers


def exact_match(answers: Sequence[str], expected: Sequence[str]) -> float:
    hits = sum(a == e.strip() for a, e in zip(answers, expected, strict=True))
    return hits / len(expected) if expected else math.nan


def score(
    model, tokenizer, rows: Sequence[dict], examples: Sequence[Example], fmt: str,
    evaluate: dict[str, Any],
) -> dict:
    """The metrics ``evaluate["metrics"]`` asks for (exact_match on instruction and chat
    data), floats rounded to 6 digits, plus ``n_examples``; and up to 3 sample answers
    under ``_samples`` (not written to metrics.json)."""
    out: dict[str, Any] = {"n_examples": len(rows)}
    wanted = list(evaluate["metrics"])
    if "perplexity" in wanted:
        out["perplexity"] = round(
            perplexity(model, tokenizer, examples, int(evaluate["batch_size"])), 6
        )
    if "exact_match" in wanted and fmt in ANSWER_FORMATS:
        from runners.data.formats import answer_rows

        qa = [question_answer(tokenizer, r, fmt) for r in answer_rows(list(rows), fmt)]
        answers = generate_answers(
            model, tokenizer, [q[0] for q in qa], int(evaluate["max_new_tokens"]),
            int(evaluate["batch_size"]),
        )
        out["exact_match"] = round(exact_match(answers, [q[1] for q in qa]), 6)
        out["_samples"] = [(f"{q[2]} -> {q[1]}", a) for q, a in zip(qa[:3], answers[:3],
                                                                  strict=True)]
    if "preference_accuracy" in wanted and fmt == "preference":
        from runners.scoring.preference import preference_scores

        out.update(preference_scores(model, tokenizer, rows, int(evaluate["batch_size"]), False))
    return out
