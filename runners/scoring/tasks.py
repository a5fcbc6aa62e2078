"""Benchmark tasks from local task files (lm-eval's task YAML), run by repro's own runner.

multiple_choice: the log-likelihood of each choice after the context (acc: the highest;
acc_norm: the highest per character, as lm-eval); generate_until: greedy answers scored by
the text metrics; loglikelihood_rolling: disjoint-window log-likelihood of each document.
Few-shot examples are drawn by a seeded sampler; standard errors by a seeded bootstrap.
"""

from __future__ import annotations

import ast
import json
import random
from pathlib import Path
from typing import Any

from repro.spec.sections.tasks import TaskFile
from runners.scoring import library, stats


def read_docs(root: Path, files: str | list[str], kind: str) -> list[dict]:
    rows: list[dict] = []
    for f in [files] if isinstance(files, str) else files:
        path = root / f
        if kind == "json":
            text = path.read_text(encoding="utf-8")
            if text.lstrip().startswith("["):
                rows += json.loads(text)
            else:
                rows += [json.loads(line) for line in text.splitlines() if line.strip()]
        elif kind == "csv":
            import csv

            with path.open(newline="", encoding="utf-8") as fh:
                rows += list(csv.DictReader(fh))
        else:
            import pyarrow.parquet as pq

            rows += pq.read_table(path).to_pylist()
    return rows


def render(spec: str | int | list, doc: dict) -> Any:
    """lm-eval's doc_to_*: an int, a list, a column name, or a Jinja template."""
    if isinstance(spec, int | list):
        return spec
    if spec in doc:
        return doc[spec]
    import jinja2

    return jinja2.Environment(undefined=jinja2.StrictUndefined).from_string(spec).render(**doc)


def choices_of(task: TaskFile, doc: dict) -> list[str]:
    value = render(task.doc_to_choice, doc)
    if isinstance(value, str):
        value = ast.literal_eval(value)
    return [str(c) for c in value]


def target_of(task: TaskFile, doc: dict) -> Any:
    value = render(task.doc_to_target, doc)
    if task.output_type == "multiple_choice":
        if isinstance(value, str):
            choices = choices_of(task, doc)
            value = int(value) if value.strip().isdigit() else choices.index(value)
        return int(value)
    return str(value)


def target_text(task: TaskFile, doc: dict) -> str:
    t = target_of(task, doc)
    return choices_of(task, doc)[t] if task.output_type == "multiple_choice" else t


def contexts(task: TaskFile, docs: list[dict], shots: list[dict], k: int, seed: int) -> list[str]:
    """Each document's prompt: description, k examples (seeded draw), then its own text."""
    rng = random.Random(seed)
    out = []
    for doc in docs:
        pool = shots if task.fewshot_config.sampler == "default" else shots[:k + 1]
        drawn = rng.sample(pool, min(k + 1, len(pool))) if k and \
            task.fewshot_config.sampler == "default" else list(pool[:k + 1]) if k else []
        drawn = [d for d in drawn if d is not doc][:k]
        parts = [str(render(task.doc_to_text, d)) + task.target_delimiter + target_text(task, d)
                 for d in drawn]
        parts.append(str(render(task.doc_to_text, doc)))
        out.append(task.description + task.fewshot_delimiter.join(parts))
    return out


def choice_loglikelihoods(model, tokenizer, pairs: list[tuple[str, str]],
                          batch_size: int) -> list[float]:
    """log p(continuation | context) per pair, tokenized as lm-eval does (whole, then split)."""
    import torch

    prefix = tokenizer.bos_token_id if tokenizer.bos_token_id is not None \
        else tokenizer.eos_token_id
    max_len = min(int(tokenizer.model_max_length), int(model.config.max_position_embeddings))
    encoded = []
    for ctx, cont in pairs:
        n_space = len(ctx) - len(ctx.rstrip())
        if n_space:  # trailing spaces of the context go to the continuation (lm-eval)
            ctx, cont = ctx[:-n_space], ctx[-n_space:] + cont
        whole = tokenizer(ctx + cont, add_special_tokens=False)["input_ids"]
        ctx_ids = tokenizer(ctx, add_special_tokens=False)["input_ids"] if ctx else [prefix]
        cont_ids = whole[len(ctx_ids):] if ctx else whole
        seq = (ctx_ids + cont_ids)[-(max_len + 1):]
        encoded.append((seq, len(cont_ids)))
    order = sorted(range(len(encoded)), key=lambda i: -len(encoded[i][0]))
    out = [0.0] * len(encoded)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    model.eval()
    with torch.no_grad():
        for i in range(0, len(order), batch_size):
            idx = order[i:i + batch_size]
            width = max(len(encoded[j][0]) - 1 for j in idx)
            inp = torch.full((len(idx), width), pad, dtype=torch.long)
            mask = torch.zeros_like(inp)
            for r, j in enumerate(idx):
                seq = encoded[j][0]
                inp[r, :len(seq) - 1] = torch.tensor(seq[:-1])
                mask[r, :len(seq) - 1] = 1
            logp = torch.log_softmax(model(input_ids=inp, attention_mask=mask).logits.float(), -1)
            for r, j in enumerate(idx):
                seq, n = encoded[j]
                end = len(seq) - 1
                target = torch.tensor(seq[end - n + 1:])
                out[j] = logp[r, end - n:end].gather(-1, target[:, None]).sum().item()
    return out


def run_task(model, tokenizer, root: Path, task: TaskFile, *, num_fewshot: int | None,
             limit: int | None, seed: int, boot: dict[str, int], batch_size: int) -> dict:
    """One task's metrics: values, ``<metric>_stderr``, ``ci95``, and its settings."""
    files = task.dataset_kwargs.data_files
    docs = read_docs(root, files[task.test_split], task.dataset_path)[:limit]
    k = task.num_fewshot if num_fewshot is None else num_fewshot
    shots = read_docs(root, files[task.fewshot_split], task.dataset_path) \
        if k and task.fewshot_split else []
    wanted = [m.metric for m in task.metric_list]
    iters, bseed = boot["iters"], boot["seed"]
    values: dict[str, Any] = {}
    per_item: dict[str, list[float]] = {}
    if task.output_type == "multiple_choice":
        ctxs = contexts(task, docs, shots, k, seed)
        pairs, spans = [], []
        for ctx, doc in zip(ctxs, docs, strict=True):
            ch = choices_of(task, doc)
            spans.append((len(pairs), ch))
            pairs += [(ctx, task.target_delimiter + c) for c in ch]
        lls = choice_loglikelihoods(model, tokenizer, pairs, batch_size)
        for (start, ch), doc in zip(spans, docs, strict=True):
            ll = lls[start:start + len(ch)]
            gold = target_of(task, doc)
            norm = [v / len(c) for v, c in zip(ll, ch, strict=True)]
            per_item.setdefault("acc", []).append(float(ll.index(max(ll)) == gold))
            per_item.setdefault("acc_norm", []).append(float(norm.index(max(norm)) == gold))
        for m in wanted:
            values[m] = stats.mean(per_item[m])
    elif task.output_type == "generate_until":
        from runners.scoring.generation import generate

        ctxs = contexts(task, docs, shots, k, seed)
        ids = [tokenizer(c, add_special_tokens=False)["input_ids"] for c in ctxs]
        g = task.generation_kwargs
        answers = generate(model, tokenizer, ids, g.max_gen_toks, batch_size,
                           {"do_sample": False, "stop": g.until}, seed)
        refs = [target_text(task, d) for d in docs]
        names = sorted({"rouge" if m.startswith("rouge") else m for m in wanted})
        from runners.scoring.generation import score_answers

        res = score_answers(answers, refs, names, {}, boot)
        values = {m: res[m] for m in wanted}
        values.update({f"{m}_stderr": res[f"{m}_stderr"] for m in wanted
                       if f"{m}_stderr" in res})
        if "ci95" in res:
            values["ci95"] = {m: v for m, v in res["ci95"].items() if m in wanted}
    else:
        from runners.scoring.rolling import doc_loglikelihoods, prefix_id

        texts = [target_text(task, d) for d in docs]
        ctx = min(int(tokenizer.model_max_length), int(model.config.max_position_embeddings))
        res = doc_loglikelihoods(model, tokenizer, texts, ctx, ctx, prefix_id(tokenizer, "auto"),
                                 batch_size)
        import math
        import re

        ll = sum(r[0] for r in res)
        n_bytes = sum(len(t.encode("utf-8")) for t in texts)
        n_words = sum(len(re.split(r"\s+", t)) for t in texts)
        full = {"word_perplexity": math.exp(-ll / n_words),
                "byte_perplexity": math.exp(-ll / n_bytes),
                "bits_per_byte": -ll / n_bytes / math.log(2)}
        values = {m: full[m] for m in wanted}
    ci: dict[str, Any] = values.pop("ci95", {})
    for m, items in per_item.items():
        if m in wanted:
            b = stats.mean_bootstrap(items, iters, bseed)
            if b:
                values[f"{m}_stderr"], ci[m] = b["stderr"], b["ci95"]
    out = {m: round(v, 6) if isinstance(v, float) else v for m, v in values.items()}
    out["n"] = len(docs)
    out["num_fewshot"] = k
    if ci:
        out["ci95"] = ci
    return out


def task_hashes(root: Path, path: str, task: TaskFile) -> dict[str, Any]:
    """Content hashes of a task file and its data files, for the lineage."""
    from repro.contract.hashing import sha256_file as file_hash
    from repro.spec.tasks import data_files

    return {"path": path, "sha256": file_hash(root / path),
            "data_files": {f: file_hash(root / f) for f in data_files(task)}}


def run_tasks(model, tokenizer, root: Path, tasks: list[dict], seed: int, boot: dict[str, int],
              batch_size: int) -> dict[str, Any]:
    from repro.spec.tasks import load_task

    out = {}
    for t in tasks:
        task = load_task(root, t["path"])
        out[task.task] = run_task(model, tokenizer, root, task, num_fewshot=t.get("num_fewshot"),
                                  limit=t.get("limit"), seed=seed, boot=boot,
                                  batch_size=batch_size)
    return out


__all__ = ["library", "run_task", "run_tasks", "task_hashes"]
