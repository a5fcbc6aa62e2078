"""Scoring preference pairs: does a model rank the chosen answer above the rejected one?

- a language model: the summed log-probability of each answer's tokens (end-of-turn
  included) after the prompt, both rendered through the chat template;
- a reward model: its scalar score of the whole conversation, rendered the same way
  RewardTrainer saw it in training.

``preference_accuracy`` is the fraction of pairs ranked right (ties count as wrong), and
``reward_margin`` the mean score difference (chosen minus rejected).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from runners.data.formats import Messages, preference_example


def chat_ids(tokenizer, messages: Messages, generation_prompt: bool = False) -> list[int]:
    out = tokenizer.apply_chat_template(
        messages, tokenize=True, return_dict=True, add_generation_prompt=generation_prompt
    )
    return list(out["input_ids"])


def _pad_right(sequences: Sequence[list[int]], pad_id: int):
    import torch

    width = max(len(s) for s in sequences)
    ids = torch.full((len(sequences), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(sequences), width), dtype=torch.long)
    for i, s in enumerate(sequences):
        ids[i, : len(s)] = torch.tensor(s)
        mask[i, : len(s)] = 1
    return ids, mask


def answer_logps(model, tokenizer, prompts: Sequence[Messages], answers: Sequence[Messages],
                 batch_size: int) -> list[float]:
    """log p(answer | prompt) under a causal LM, summed over the answer's tokens."""
    import torch

    seqs, starts = [], []
    for prompt, answer in zip(prompts, answers, strict=True):
        p = chat_ids(tokenizer, prompt, generation_prompt=True)
        full = chat_ids(tokenizer, prompt + answer)
        start = next((i for i, (a, b) in enumerate(zip(p, full, strict=False)) if a != b),
                     min(len(p), len(full)))
        seqs.append(full)
        starts.append(start)
    out: list[float] = []
    model.eval()
    with torch.no_grad():
        for i in range(0, len(seqs), batch_size):
            chunk = seqs[i : i + batch_size]
            ids, mask = _pad_right(chunk, tokenizer.pad_token_id)
            logits = model(input_ids=ids, attention_mask=mask).logits[:, :-1].float()
            logp = torch.log_softmax(logits, dim=-1).gather(-1, ids[:, 1:, None])[..., 0]
            for j, seq in enumerate(chunk):
                start = max(starts[i + j], 1)
                out.append(float(logp[j, start - 1 : len(seq) - 1].sum()))
    return out


def rewards(model, tokenizer, conversations: Sequence[Messages], batch_size: int) -> list[float]:
    """A reward model's score of each whole conversation."""
    import torch

    seqs = [chat_ids(tokenizer, c) for c in conversations]
    out: list[float] = []
    model.eval()
    with torch.no_grad():
        for i in range(0, len(seqs), batch_size):
            ids, mask = _pad_right(seqs[i : i + batch_size], tokenizer.pad_token_id)
            out += [float(v) for v in model(input_ids=ids, attention_mask=mask).logits[:, 0]]
    return out


def preference_scores(model, tokenizer, rows: Sequence[dict[str, Any]], batch_size: int,
                      reward_model: bool) -> dict[str, float]:
    """``preference_accuracy`` and ``reward_margin`` of a model on preference rows."""
    pairs = [preference_example(r) for r in rows]
    if reward_model:
        chosen = rewards(model, tokenizer, [p["prompt"] + p["chosen"] for p in pairs], batch_size)
        rejected = rewards(model, tokenizer, [p["prompt"] + p["rejected"] for p in pairs],
                           batch_size)
    else:
        prompts = [p["prompt"] for p in pairs]
        chosen = answer_logps(model, tokenizer, prompts, [p["chosen"] for p in pairs], batch_size)
        rejected = answer_logps(model, tokenizer, prompts, [p["rejected"] for p in pairs],
                                batch_size)
    n = len(pairs)
    wins = sum(c > r for c, r in zip(chosen, rejected, strict=True))
    margin = sum(c - r for c, r in zip(chosen, rejected, strict=True))
    return {
        "preference_accuracy": round(wins / n, 6) if n else float("nan"),
        "reward_margin": round(margin / n, 6) if n else float("nan"),
    }
