"""Rolling log-likelihood of whole texts: strided sliding-window perplexity, bits per byte.

Each text is tokenized alone (no special tokens) and, by the prefix policy, preceded by one
token (BOS, else EOS: lm-eval's rule) so that its first token is scored too. Windows hold at
most ``max_length`` tokens; the first scores its whole length, each later one scores the next
``stride`` tokens with the tokens before them as context (the strided sliding window of the
transformers perplexity guide). With ``stride == max_length`` the windows are disjoint and
the result is lm-eval's ``loglikelihood_rolling``: bits per byte ``-sum(ll)/sum(bytes)/ln 2``
and word perplexity ``exp(-sum(ll)/sum(words))`` over documents, as its wikitext task has them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any

from runners.errors import RunnerError


def prefix_id(tokenizer, policy: str) -> int | None:
    """The token put before each text: ``auto`` = BOS if the tokenizer has one, else EOS."""
    if policy == "none":
        return None
    if policy == "bos" or (policy == "auto" and tokenizer.bos_token_id is not None):
        if tokenizer.bos_token_id is None:
            raise RunnerError("perplexity.prefix: bos, but the tokenizer has no BOS token")
        return int(tokenizer.bos_token_id)
    if tokenizer.eos_token_id is None:
        raise RunnerError("perplexity.prefix: the tokenizer has neither BOS nor EOS; use none")
    return int(tokenizer.eos_token_id)


def windows(n_tokens: int, max_length: int, stride: int) -> list[tuple[int, int, int]]:
    """``(start, a, b)`` per window over a sequence x of ``n_tokens + 1`` ids whose targets are
    x[1:]: the window's input is x[start:b] and it scores targets a..b-1 (x[a+1..b])."""
    out, a = [], 0
    while a < n_tokens:
        b = min(a + (max_length if a == 0 else stride), n_tokens)
        out.append((max(0, b - max_length), a, b))
        a = b
    return out


def doc_loglikelihoods(model, tokenizer, texts: Sequence[str], max_length: int, stride: int,
                       prefix: int | None, batch_size: int) -> list[tuple[float, int]]:
    """(sum of log-probabilities, scored tokens) per text."""
    import torch

    jobs: list[tuple[int, list[int], int, int]] = []  # (doc, input ids, first scored, n scored)
    totals = [[0.0, 0] for _ in texts]
    for d, text in enumerate(texts):
        ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        x = ([prefix] if prefix is not None else []) + list(ids)
        for start, a, b in windows(len(x) - 1, max_length, stride):
            jobs.append((d, x[start:b + 1], a - start, b - a))
    # longest first: fewer pad tokens per batch; the result does not depend on the order
    order = sorted(range(len(jobs)), key=lambda i: -len(jobs[i][1]))
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    model.eval()
    with torch.no_grad():
        for i in range(0, len(order), batch_size):
            batch = [jobs[j] for j in order[i:i + batch_size]]
            width = max(len(job[1]) - 1 for job in batch)
            inp = torch.full((len(batch), width), pad, dtype=torch.long)
            mask = torch.zeros((len(batch), width), dtype=torch.long)
            for r, (_, seq, _, _) in enumerate(batch):
                inp[r, :len(seq) - 1] = torch.tensor(seq[:-1])
                mask[r, :len(seq) - 1] = 1
            logp = torch.log_softmax(model(input_ids=inp, attention_mask=mask).logits.float(), -1)
            for r, (d, seq, first, n) in enumerate(batch):
                target = torch.tensor(seq[first + 1:first + 1 + n])
                ll = logp[r, first:first + n].gather(-1, target[:, None]).sum().item()
                totals[d][0] += ll
                totals[d][1] += n
    return [(ll, n) for ll, n in totals]


def rolling_metrics(model, tokenizer, texts: Sequence[str], wanted: Sequence[str],
                    settings: dict[str, Any], batch_size: int) -> dict[str, Any]:
    """The rolling metrics asked for, plus ``settings``: what was computed and how."""
    context = min(int(tokenizer.model_max_length), int(model.config.max_position_embeddings))
    max_length = int(settings.get("max_length") or context)
    if max_length > context:
        raise RunnerError(f"perplexity.max_length {max_length} is above the model's context "
                         f"({context})")
    stride = int(settings.get("stride") or max_length)
    policy = settings.get("prefix", "auto")
    prefix = prefix_id(tokenizer, policy)
    per_doc = doc_loglikelihoods(model, tokenizer, texts, max_length, stride, prefix, batch_size)
    ll = sum(x[0] for x in per_doc)
    n_tokens = sum(x[1] for x in per_doc)
    n_bytes = sum(len(t.encode("utf-8")) for t in texts)
    n_words = sum(len(re.split(r"\s+", t)) for t in texts)
    values = {
        "token_perplexity": math.exp(-ll / n_tokens) if n_tokens else math.nan,
        "bits_per_byte": -ll / n_bytes / math.log(2) if n_bytes else math.nan,
        "byte_perplexity": math.exp(-ll / n_bytes) if n_bytes else math.nan,
        "word_perplexity": math.exp(-ll / n_words) if n_words else math.nan,
    }
    out: dict[str, Any] = {k: round(values[k], 6) for k in wanted}
    out["settings"] = {
        "method": "disjoint windows (lm-eval loglikelihood_rolling)" if stride == max_length
        else "strided sliding window",
        "max_length": max_length, "stride": stride, "prefix": policy, "prefix_token_id": prefix,
        "eos": "not appended", "documents": len(texts), "tokens": n_tokens, "bytes": n_bytes,
        "words": n_words, "loglikelihood": round(ll, 6),
    }
    return out
