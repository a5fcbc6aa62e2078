"""Tokenizing prepared splits: batched fast-tokenizer calls, optionally in worker processes.

- text: ``<bos> text <eos>``, every token labelled;
- instruction: ``<bos> prompt`` then ``response <eos>``; the prompt is labelled -100;
- chat: the tokenizer's chat template (or repro's default); only assistant tokens labelled;
- preference, feedback: not tokenized here (their trainers tokenize them themselves).

Nothing is truncated here: examples are stored whole, and the train stage applies its own
``max_length`` (counting what it cuts). The same rows give the same ids whatever the
number of workers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from runners.data.prompting import format_prompt, full_text
from runners.errors import RunnerError

IGNORE = -100
BATCH = 1000
TOKENIZED_FORMATS = ("text", "instruction", "chat")


def load_tokenizer_from(ref: dict[str, Any], root: Path):
    """A tokenizer named by the compiler's ``tokenizer_from``: another prepared data set's,
    a local model folder's, or a hub model's (offline: from the local HF cache)."""
    from runners.models.modeling import load_tokenizer

    if "data" in ref:
        from repro.contract import paths

        folder = root / paths.data_dir(ref["data"]) / paths.TOKENIZER_DIR
        if not folder.is_dir():
            raise RunnerError(
                f"{folder.relative_to(root)}: tokenizer not found (prepare data set "
                f"{ref['data']} first)"
            )
        return load_tokenizer(folder)
    if "path" in ref:
        from runners.errors import confined

        return load_tokenizer(confined(root, ref["path"], "model.base.path"))
    if "hub" in ref:
        return load_tokenizer(ref["hub"], ref.get("revision"))
    raise RunnerError(f"tokenizer_from: expected data, path or hub (got {ref!r})")


def train_tokenizer(rows: list[dict], fmt: str, settings: dict[str, Any]):
    from runners.data.bpe import train_bpe, wrap

    texts = [full_text(r, fmt) for r in rows]
    if fmt == "chat":  # the default template's scaffolding must tokenize well too
        texts.append("Q: A: \n")
    return wrap(train_bpe(texts, int(settings["vocab_size"]), int(settings["min_frequency"])))


def _ids(tokenizer, texts: list[str]) -> list[list[int]]:
    """Token ids of many texts, no special tokens: the Rust tokenizer's batch call without
    offsets when there is one (the same ids as ``tokenizer(texts)``, without its per-text
    Python work), else the tokenizer's own call."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is not None and hasattr(backend, "encode_batch_fast"):
        return [e.ids for e in backend.encode_batch_fast(texts, add_special_tokens=False)]
    return tokenizer(texts, add_special_tokens=False, verbose=False)["input_ids"]


def _encode_batch(batch: dict[str, list], tokenizer, fmt: str) -> dict[str, list]:
    bos = [] if tokenizer.bos_token_id is None else [tokenizer.bos_token_id]
    eos = [] if tokenizer.eos_token_id is None else [tokenizer.eos_token_id]
    if fmt == "text":
        ids = [bos + e + eos for e in _ids(tokenizer, batch["text"])]
        return {"input_ids": ids, "labels": ids}
    if fmt == "instruction":
        rows = [dict(zip(batch, vals, strict=True)) for vals in zip(*batch.values(), strict=True)]
        prompts = _ids(tokenizer, [format_prompt(r) for r in rows])
        answers = _ids(tokenizer, [r["output"] for r in rows])
        ids, labels = [], []
        for p, a in zip(prompts, answers, strict=True):
            ids.append(bos + p + a + eos)
            labels.append([IGNORE] * (len(bos) + len(p)) + a + eos)
        return {"input_ids": ids, "labels": labels}
    if fmt == "chat":
        out = tokenizer.apply_chat_template(
            batch["messages"], tokenize=True, return_dict=True, return_assistant_tokens_mask=True
        )
        ids = [list(x) for x in out["input_ids"]]
        labels = [
            [t if m else IGNORE for t, m in zip(x, mask, strict=True)]
            for x, mask in zip(ids, out["assistant_masks"], strict=True)
        ]
        return {"input_ids": ids, "labels": labels}
    raise RunnerError(f"format {fmt!r} is not tokenized")


def tokenize(tokenizer, rows: list[dict], fmt: str, workers: int = 1) -> list[tuple[list, list]]:
    """``(input_ids, labels)`` for every row, in order."""
    if not rows:
        return []
    columns = {key: [r[key] for r in rows] for key in rows[0]}
    if workers <= 1 or len(rows) < 2 * BATCH:
        ids: list = []
        labels: list = []
        for i in range(0, len(rows), BATCH):
            out = _encode_batch({k: v[i : i + BATCH] for k, v in columns.items()}, tokenizer, fmt)
            ids += out["input_ids"]
            labels += out["labels"]
        return list(zip(ids, labels, strict=True))
    import datasets

    datasets.disable_progress_bars()
    ds = datasets.Dataset.from_dict(columns)
    ds = ds.map(
        _encode_batch,
        fn_kwargs={"tokenizer": tokenizer, "fmt": fmt},
        batched=True,
        batch_size=BATCH,
        num_proc=workers,
        remove_columns=list(columns),
        keep_in_memory=True,
        new_fingerprint=f"repro-tokenize-{fmt}-{len(rows)}",
    )
    return list(zip(ds["input_ids"], ds["labels"], strict=True))


def length_stats(lengths: list[int]) -> dict[str, Any]:
    """Counts, percentiles and a power-of-two histogram of token lengths."""
    if not lengths:
        return {"examples": 0, "total": 0}
    ordered = sorted(lengths)
    hist, upto = [], 8
    while True:
        count = sum(1 for n in ordered if upto // 2 < n <= upto) if upto > 8 else sum(
            1 for n in ordered if n <= 8
        )
        hist.append({"upto": upto, "count": count})
        if upto >= ordered[-1]:
            break
        upto *= 2
    return {
        "examples": len(ordered),
        "total": sum(ordered),
        "min": ordered[0],
        "max": ordered[-1],
        "mean": round(sum(ordered) / len(ordered), 3),
        "p50": ordered[len(ordered) // 2],
        "p95": ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))],
        "histogram": hist,
    }
