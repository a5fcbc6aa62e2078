"""The metrics of one model on a list of rows: perplexity, rolling log-likelihood, generation."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from repro.contract import progress
from repro.spec.sections.evaluate import ANSWER_FORMATS, GENERATION_METRICS, ROLLING_METRICS
from runners.data.batching import IGNORE, Example, collate, prompt_ids


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
    from runners.scoring.generation import generate

    return generate(model, tokenizer, prompts_ids, max_new_tokens, batch_size)


def exact_match(answers: Sequence[str], expected: Sequence[str]) -> float:
    hits = sum(a == e.strip() for a, e in zip(answers, expected, strict=True))
    return hits / len(expected) if expected else math.nan


def score(
    model, tokenizer, rows: Sequence[dict], examples: Sequence[Example], fmt: str,
    evaluate: dict[str, Any], seed: int = 0, root: str = ".",
) -> dict:
    """The metrics ``evaluate["metrics"]`` asks for, floats rounded to 6 digits, plus
    ``n_examples``, bootstrap ``*_stderr``/``ci95`` and ``settings`` (how each was computed);
    and up to 3 sample answers under ``_samples`` (not written to metrics.json)."""
    out: dict[str, Any] = {"n_examples": len(rows)}
    settings: dict[str, Any] = {}
    wanted = list(evaluate["metrics"])
    bs = int(evaluate["batch_size"])
    boot = {"iters": int((evaluate.get("bootstrap") or {}).get("iters", 0)),
            "seed": _boot_seed(evaluate, seed)}
    if "perplexity" in wanted:
        out["perplexity"] = round(perplexity(model, tokenizer, examples, bs), 6)
    rolling = [m for m in wanted if m in ROLLING_METRICS]
    if rolling:
        from runners.data.prompting import full_text
        from runners.scoring.rolling import rolling_metrics

        texts = [full_text(r, fmt) for r in rows]
        res = rolling_metrics(model, tokenizer, texts, rolling, evaluate.get("perplexity") or {},
                              bs)
        settings["rolling"] = res.pop("settings")
        out.update(res)
    gen_metrics = [m for m in wanted if m in GENERATION_METRICS]
    custom = [{**c, "key": custom_key(c)} for c in evaluate.get("custom") or []]
    if (gen_metrics or custom) and fmt in ANSWER_FORMATS:
        from runners.data.formats import answer_rows
        from runners.scoring.generation import generate, score_answers

        gen = evaluate.get("generation") or {}
        # feedback data: the completions labelled desirable are the reference answers
        qa = [question_answer(tokenizer, r, fmt) for r in answer_rows(list(rows), fmt)]
        answers = generate(model, tokenizer, [q[0] for q in qa], int(evaluate["max_new_tokens"]),
                           bs, gen, seed)
        res = score_answers(answers, [q[1] for q in qa], gen_metrics,
                            evaluate.get("options") or {}, boot, root, custom)
        settings.update(res.pop("settings", {}))
        settings["generation"] = {**gen, "max_new_tokens": int(evaluate["max_new_tokens"]),
                                  "batch_size": bs,
                                  "seed": gen.get("seed") if gen.get("seed") is not None
                                  else seed}
        out.update(res)
        out["_samples"] = [(f"{q[2]} -> {q[1]}", a) for q, a in zip(qa[:3], answers[:3],
                                                                  strict=True)]
    if "preference_accuracy" in wanted and fmt == "preference":
        from runners.scoring.preference import preference_scores

        out.update(preference_scores(model, tokenizer, rows, bs, False))
    if settings:
        out["settings"] = settings
    return out


def custom_key(c: dict[str, Any]) -> str:
    """A custom metric's key in metrics.json: its name, or its file's stem."""
    from pathlib import PurePosixPath

    return c.get("name") or PurePosixPath(c["path"].rstrip("/")).stem.replace(".", "_")


def _boot_seed(evaluate: dict[str, Any], seed: int) -> int:
    s = (evaluate.get("bootstrap") or {}).get("seed")
    return int(seed if s is None else s)
