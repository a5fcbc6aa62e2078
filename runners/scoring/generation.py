"""Generated answers (settings from the spec) scored against references by the text metrics."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from repro.contract import progress
from runners.data.batching import left_pad
from runners.scoring import library, stats


def generate(model, tokenizer, prompts_ids: Sequence[list[int]], max_new_tokens: int,
             batch_size: int, gen: dict[str, Any] | None = None, seed: int = 0) -> list[str]:
    """Completions of each prompt (batched, left padding): greedy, or sampled from a seeded
    generator; each cut at the first stop string and stripped."""
    import torch

    gen = gen or {}
    sample = bool(gen.get("do_sample"))
    kwargs: dict[str, Any] = {"do_sample": sample}
    if sample:
        kwargs.update(temperature=float(gen.get("temperature", 1.0)),
                      top_p=float(gen.get("top_p", 1.0)), top_k=gen.get("top_k") or 0)
        torch.manual_seed(int(gen["seed"]) if gen.get("seed") is not None else seed)
    stop = list(gen.get("stop") or [])
    answers: list[str] = []
    model.eval()
    bar = progress.task("examples", len(prompts_ids), label="evaluate generation", say=print)
    with torch.no_grad():
        for i in range(0, len(prompts_ids), batch_size):
            bar.update(i)
            batch = left_pad(list(prompts_ids[i:i + batch_size]), tokenizer.pad_token_id)
            out = model.generate(**batch, max_new_tokens=max_new_tokens,
                                 pad_token_id=tokenizer.pad_token_id,
                                 eos_token_id=tokenizer.eos_token_id, **kwargs)
            new = out[:, batch["input_ids"].shape[1]:]
            answers += [cut(t, stop).strip()
                        for t in tokenizer.batch_decode(new, skip_special_tokens=True)]
    bar.update(len(prompts_ids))
    bar.close()
    return answers


def cut(text: str, stop: Sequence[str]) -> str:
    """``text`` up to the first occurrence of any stop string."""
    ends = [text.find(s) for s in stop if s in text]
    return text[:min(ends)] if ends else text


def metric_options(name: str, options: dict[str, Any]) -> dict[str, Any]:
    """The spec's options of one built-in metric, as its compute() keywords."""
    return dict(options.get(name) or {})


def score_answers(answers: list[str], references: list[str], metrics: Sequence[str],
                  options: dict[str, Any], boot: dict[str, Any], root=".",
                  custom: Sequence[dict[str, Any]] = ()) -> dict[str, Any]:
    """Each metric (built-in names and custom modules) over the answers, rounded; with
    ``<key>_stderr`` and ``ci95`` from a seeded bootstrap, and ``settings`` (signatures)."""
    out: dict[str, Any] = {}
    settings: dict[str, Any] = {}
    ci: dict[str, Any] = {}
    iters, seed = int(boot["iters"]), int(boot["seed"])
    for name in metrics:
        opts = metric_options(name, options)
        res = library.compute(name, answers, references, opts)
        if name in ("bleu", "chrf"):
            out[name] = round(res[name], 6)
            settings[name] = {"signature": res["signature"], **opts}
            fn = library.bleu_score if name == "bleu" else library.chrf_score
            pairs = list(zip(answers, references, strict=True))
            b = stats.bootstrap(pairs, lambda ps, n=name, f=fn, o=opts: f(
                [p for p, _ in ps], [r for _, r in ps], **o)[n],
                min(iters, stats.CORPUS_ITERS), seed)
            if b:
                out[f"{name}_stderr"], ci[name] = b["stderr"], b["ci95"]
        elif name == "rouge":
            per = library.rouge_items(answers, references, **opts)
            settings["rouge"] = {"package": "rouge-score 0.1.2", "sentence_split": "newline",
                                 **opts}
            for key in res:
                out[key] = round(res[key], 6)
                b = stats.mean_bootstrap([p[key] for p in per], iters, seed)
                if b:
                    out[f"{key}_stderr"], ci[key] = b["stderr"], b["ci95"]
        else:
            out[name] = round(res[name], 6)
            if opts:
                settings[name] = opts
            if name == "exact_match":
                hits = [library.normalise(a, **opts) == library.normalise(r, **opts)
                        for a, r in zip(answers, references, strict=True)]
                b = stats.mean_bootstrap([float(h) for h in hits], iters, seed)
                if b:
                    out[f"{name}_stderr"], ci[name] = b["stderr"], b["ci95"]
    for c in custom:
        res = library.compute(c["path"], answers, references, dict(c.get("options") or {}), root)
        key = c["key"]
        value = res.get(key, next((v for v in res.values() if isinstance(v, int | float)), None))
        out[key] = round(float(value), 6) if isinstance(value, int | float) else value
        settings[key] = {"module": c["path"], "result": {k: v for k, v in res.items()
                                                         if isinstance(v, str | int | float)}}
    if ci:
        out["ci95"] = ci
    if settings:
        out["settings"] = settings
    return out
