"""Stage ``prepare``: load a data set's source, clean it, split it, tokenize it, write its card.

    python -m runners.prepare <dataset-key>     # -> runs/_data/<key>/

Reads top to bottom: load the raw rows (and check the pinned hash before anything else),
normalise, drop invalid rows, filter by length, dedupe (exact, then near), split (keeping a
source's own splits), decontaminate, get the tokenizer (trained here, or the base model's),
tokenize in batches, filter by token count, then write everything into a temporary folder
that is renamed into place. Cleaning runs before splitting, so a duplicate never lands in two
splits. Deterministic: two runs give identical bytes.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from repro.contract import paths, progress
from repro.contract.fsio import atomic_dir, canonical_json
from repro.contract.hashing import file_hashes, hash_bytes, sha256_text
from repro.contract.records import CARD, DataCard, Manifest
from repro.spec.sections.data import FORMAT_COLUMNS, Data
from runners import entry
from runners.data import clean as c
from runners.data.examples import TOKENS_DIR, write_tokens
from runners.data.prompting import full_text
from runners.data.sources import load_source
from runners.data.split import split
from runners.errors import RunnerError
from runners.params import dataset_params, load_params, resolve_dataset
from runners.records import lineage

NOT_IN_KEY = ("workers",)  # settings that do not change the prepared bytes
COMPILER_KEYS = ("tokenizer_from", "chat_template_hash")  # added by the compiler, not the spec


def cache_key(raw_hash: str, dataset: dict[str, Any], tokenizer_id: str | None) -> str:
    """Content address of a prepared data set: raw content + data section + tokenizer."""
    section = {k: v for k, v in dataset.items() if k not in NOT_IN_KEY}
    return hash_bytes(canonical_json([raw_hash, section, tokenizer_id]).encode("utf-8"))


def _pin_error(pinned: str, raw) -> RunnerError:
    files = "".join(f"\n    {f.path} ({f.size:,} bytes, {f.hash})" for f in raw.files[:20])
    return RunnerError(
        f"data hash mismatch for {raw.origin}: the data changed since it was pinned\n"
        f"  pinned  {pinned}\n  actual  {raw.raw_hash}"
        + (f"\n  files now:{files}" if files else "")
        + "\n  check the data; to accept it, run `repro pin <spec>` (it rewrites data.hash)"
    )


def _tokenizer(d: dict[str, Any], tok_from: dict[str, Any] | None, train_rows, fmt, root):
    """The tokenizer and its card entry, or (None, None) when the data set has none."""
    from runners.data.chat import ensure_template, template_text
    from runners.data.tokenize import load_tokenizer_from, train_tokenizer

    if d["tokenizer"] is not None:
        tok = train_tokenizer(train_rows, fmt, d["tokenizer"])
        info = {"source": "trained", "ref": f"bpe {d['tokenizer']['vocab_size']}"}
    elif tok_from:
        tok = load_tokenizer_from(tok_from, root)
        info = {"source": next(iter(tok_from)), "ref": str(next(iter(tok_from.values())))}
    else:
        return None, None
    if tok.pad_token_id is None and tok.eos_token is not None:
        tok.pad_token = tok.eos_token
    template = template_text(d, root)
    if fmt == "chat" or template is not None:
        ensure_template(tok, template)
    info["vocab_size"] = len(tok)
    info["chat_template"] = bool(getattr(tok, "chat_template", None))
    return tok, info


def _token_filter(name: str, splits, tokens, keep) -> tuple[dict, dict, c.Step]:
    new_rows, new_tokens, dropped = {}, {}, []
    for split_name, rows in splits.items():
        new_rows[split_name], new_tokens[split_name] = [], []
        for row, tok in zip(rows, tokens[split_name], strict=True):
            if keep(len(tok[0])):
                new_rows[split_name].append(row)
                new_tokens[split_name].append(tok)
            else:
                dropped.append(row)
    step = c.drop_step(name, sum(len(v) for v in new_rows.values()), dropped)
    return new_rows, new_tokens, step


def prepare(
    dataset: dict[str, Any], out_dir: str | Path, root: str | Path = "."
) -> Manifest:
    """Build the prepared data set described by ``dataset`` (a ``datasets.<key>`` entry of
    params.yaml) into ``out_dir``; return its manifest. Local source paths are relative
    to the workspace ``root``."""
    root, out_dir = Path(root), Path(out_dir)
    key = out_dir.name
    tok_from = dataset.get("tokenizer_from")
    d = resolve_dataset({k: v for k, v in dataset.items() if k not in COMPILER_KEYS},
                        Data, where=f"datasets.{key}")
    d["chat_template_hash"] = dataset.get("chat_template_hash")
    fmt, seed, cl, sp = d["format"], int(d["seed"]), d["clean"], d["split"]
    keep_cols = tuple(col for col in (sp["group_by"], sp["stratify_by"]) if col)

    # 1. load, and stop at once if the data is not the pinned data
    bar = progress.task("rows", None, label="prepare", say=print)
    bar.update(0, phase="loading")
    raw = load_source(d["source"], fmt, d["columns"], seed, root, keep=keep_cols)
    if d["hash"] and d["hash"] != raw.raw_hash:
        raise _pin_error(d["hash"], raw)
    steps = [c.Step("loaded", raw.n_rows)]
    bar.update(raw.n_rows, total=raw.n_rows, phase="cleaning")
    pairs = [(name, row) for name, rows in raw.splits.items() for row in rows]

    # 2. clean: normalise, invalid rows, lengths, duplicates
    pairs, step = c.normalize(pairs, cl["normalize"], cl["whitespace"])
    steps.append(step)
    pairs, empty = c.drop_empty(pairs, fmt)
    invalid = [r for rows in raw.invalid.values() for r in rows] + empty
    steps.append(c.drop_step("invalid", len(pairs), invalid))
    if cl["min_chars"]:
        n = int(cl["min_chars"])
        pairs, step = c.filter_rows("min_chars", pairs,
                                    lambda r: len(full_text(r, fmt).strip()) >= n)
        steps.append(step)
    if cl["max_chars"]:
        n = int(cl["max_chars"])
        pairs, step = c.filter_rows("max_chars", pairs, lambda r: len(full_text(r, fmt)) <= n)
        steps.append(step)
    if cl["dedupe"] in ("exact", "near"):
        pairs, step = c.dedupe_exact(pairs, fmt)
        steps.append(step)
    if cl["dedupe"] == "near":
        near = cl["near"]
        pairs, step = c.dedupe_near(pairs, fmt, float(near["threshold"]), int(near["num_perm"]),
                                    int(near["ngram"]), seed)
        steps.append(step)
    where = d["source"].get("path") or raw.origin  # the user's own file in every message
    if not pairs:
        raise RunnerError(f"{where}: no rows left after cleaning ({_steps_line(steps)})")

    bar.update(len(pairs), phase="splitting")
    # 3. split, then decontaminate the training split against the held-out ones
    by_source: dict[str, list[dict]] = {}
    for name, row in pairs:
        by_source.setdefault(name, []).append(row)
    try:
        splits, how = split(by_source, float(sp["validation"]), float(sp["test"]), seed,
                            sp["group_by"], sp["stratify_by"])
    except RunnerError as e:
        raise RunnerError(f"{where}: {e} ({_steps_line(steps)})") from None
    steps.append(c.Step("split", sum(len(v) for v in splits.values())))
    if cl["decontaminate"]:
        splits, step = c.decontaminate(splits, fmt, int(cl["decontaminate"]["ngram"]))
        steps.append(step)
    splits = {name: [{k: r[k] for k in FORMAT_COLUMNS[fmt]} for r in rows]
              for name, rows in splits.items()}

    # 4. tokenizer and tokens
    from runners.data import tokenize as t

    n_split = sum(len(v) for v in splits.values())
    bar.update(0, total=n_split, phase="tokenizer")
    tokenizer, tok_info = _tokenizer(d, tok_from, splits["train"], fmt, root)
    tokens: dict[str, list] | None = None
    if tokenizer is not None and fmt in t.TOKENIZED_FORMATS:
        tokens = {}
        for name, rows in splits.items():
            bar.update(bar.done, phase=f"tokenizing {name}")
            tokens[name] = t.tokenize(tokenizer, rows, fmt, int(d["workers"]))
            bar.advance(len(rows))
        for name, bound, keep in (
            ("min_tokens", cl["min_tokens"], lambda n, b=cl["min_tokens"]: n >= (b or 0)),
            ("max_tokens", cl["max_tokens"], lambda n, b=cl["max_tokens"]: n <= (b or n)),
        ):
            if bound:
                splits, tokens, step = _token_filter(name, splits, tokens, keep)
                steps.append(step)
    elif cl["min_tokens"] or cl["max_tokens"]:
        raise RunnerError(
            f"datasets.{key}.clean: min_tokens/max_tokens need tokenized data "
            f"({'format preference is not tokenized' if fmt == 'preference' else 'no tokenizer'})"
        )
    if not splits["train"]:
        raise RunnerError(f"{where}: the train split is empty ({_steps_line(steps)})")

    # 5. write everything into a temporary folder, renamed into place at the end
    bar.update(n_split, phase="writing")
    with atomic_dir(out_dir) as tmp:
        for name, file in paths.SPLIT_FILES.items():
            text = "".join(canonical_json(r) + "\n" for r in splits[name])
            (tmp / file).write_text(text, encoding="utf-8", newline="\n")
        token_stats = None
        if tokens is not None:
            (tmp / TOKENS_DIR).mkdir()
            for name in paths.SPLIT_FILES:
                write_tokens(tokens[name], tmp / TOKENS_DIR / f"{name}.parquet")
            token_stats = {name: t.length_stats([len(p[0]) for p in tokens[name]])
                           for name in paths.SPLIT_FILES}
        tokenizer_id = None
        if tokenizer is not None:
            tokenizer.save_pretrained(str(tmp / paths.TOKENIZER_DIR))
            tokenizer_id = sha256_text(canonical_json(file_hashes(tmp / paths.TOKENIZER_DIR)))
        files = file_hashes(tmp)
        ckey = cache_key(raw.raw_hash, dataset, tokenizer_id)
        raw_files = [f.as_dict() for f in raw.files]
        manifest = Manifest(
            dataset=dataset,
            format=fmt,
            source=raw.origin,
            raw_hash=raw.raw_hash,
            raw_files=raw_files,
            pinned=d["hash"],
            cache_key=ckey,
            rows={name: len(splits[name]) for name in paths.SPLIT_FILES},
            files=files,
            data_hash=sha256_text(canonical_json(files)),
        )
        card = DataCard(
            key=key,
            format=fmt,
            source={"kind": raw.kind, "origin": raw.origin, "raw_hash": raw.raw_hash,
                    "files": raw_files},
            pinned=d["hash"],
            cache_key=ckey,
            split_method=how,
            steps=[s.as_dict() for s in steps],
            splits=manifest.rows,
            tokens=token_stats,
            tokenizer=tok_info,
        )
        manifest.write(tmp / paths.DATA_MANIFEST)
        lineage.write_prepare(tmp, key, dataset, manifest, root)
        card.write(tmp / CARD)
    bar.close()
    return manifest


def _steps_line(steps: list[c.Step]) -> str:
    return ", ".join(
        f"{s.step} {s.rows}" + (f" (-{s.dropped})" if s.dropped else "") for s in steps
    )


def main(argv: list[str] | None = None) -> int:
    args = entry.parser(
        "python -m runners.prepare", "Prepare one data set listed in params.yaml.", "dataset_key"
    ).parse_args(argv)

    def body() -> None:
        params = load_params(args.root)
        dataset = dataset_params(params, args.dataset_key)
        out = args.root / paths.data_dir(args.dataset_key)
        m = prepare(dataset, out, args.root)
        rows = ", ".join(f"{k} {v}" for k, v in m.rows.items())
        print(f"prepared {args.dataset_key}: {rows} rows -> {paths.data_dir(args.dataset_key)}")

    return entry.run(body)


if __name__ == "__main__":
    sys.exit(main())
