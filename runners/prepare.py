"""Stage ``prepare``: load a data set's source, clean it, split it, write it (and a tokenizer).

    python -m runners.prepare <dataset-key>     # -> runs/_data/<key>/

Cleaning runs before splitting, so a duplicate can never land in two splits: for
instruction data two rows with the same question (instruction + input) are duplicates,
and the first one is kept. Everything is deterministic: two runs give identical bytes.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path
from typing import Any

from repro import paths
from runners import cli
from runners.data.sources import load_source
from runners.errors import RunnerError
from runners.fileio import atomic_dir, canonical_json, dump_json, file_hashes, sha256_text
from runners.params import dataset_params, load_params, resolve_dataset
from runners.prompting import full_text

MANIFEST_VERSION = 1


def dedupe_key(row: dict, fmt: str) -> str:
    if fmt == "instruction":
        return canonical_json([row["instruction"], row["input"]])
    if fmt == "preference":
        return row["prompt"]
    if fmt == "chat":
        return canonical_json(row["messages"])
    return row["text"]


def row_chars(row: dict, fmt: str) -> int:
    return len(full_text(row, fmt).strip())


def clean(rows: list[dict[str, str]], fmt: str, dedupe: bool, min_chars: int) -> tuple[list, dict]:
    """Drop rows shorter than ``min_chars``, then exact duplicates (first kept)."""
    kept, seen = [], set()
    dropped_short = dropped_dup = 0
    for row in rows:
        if row_chars(row, fmt) < min_chars:
            dropped_short += 1
            continue
        if dedupe:
            key = dedupe_key(row, fmt)
            if key in seen:
                dropped_dup += 1
                continue
            seen.add(key)
        kept.append(row)
    return kept, {"dropped_short": dropped_short, "dropped_duplicates": dropped_dup}


def split(rows: list, validation: float, test: float, seed: int) -> dict[str, list]:
    """Seeded shuffle, then test, validation and train slices (in that order)."""
    for name, frac in (("validation", validation), ("test", test)):
        if not 0.0 <= frac < 1.0:
            raise RunnerError(f"split.{name}: must be in [0, 1) (got {frac})")
    order = list(rows)
    random.Random(seed).shuffle(order)
    n_test = round(len(order) * test)
    n_val = round(len(order) * validation)
    if len(order) - n_test - n_val < 1:
        raise RunnerError(f"split: no rows left for train ({len(order)} rows after cleaning)")
    return {
        "train": order[n_test + n_val :],
        "validation": order[n_test : n_test + n_val],
        "test": order[:n_test],
    }


def _dedupe_flag(value: Any) -> bool:
    if value in ("exact", "near"):
        return True
    if value == "none":
        return False
    raise RunnerError(f"clean.dedupe: expected exact, near or none (got {value!r})")


def prepare(dataset: dict[str, Any], out_dir: str | Path, root: str | Path = ".") -> dict[str, Any]:
    """Build the prepared data set described by ``dataset`` into ``out_dir``; return its manifest.

    ``root`` is the workspace root that local source paths are relative to.
    """
    d = resolve_dataset(dataset, where=f"datasets.{Path(out_dir).name}")
    fmt, seed = d["format"], d["seed"]
    raw = load_source(d["source"], fmt, seed, Path(root))
    rows, dropped = clean(
        raw.rows, fmt, _dedupe_flag(d["clean"].get("dedupe")), int(d["clean"].get("min_chars") or 0)
    )
    splits = split(rows, float(d["split"]["validation"]), float(d["split"]["test"]), seed)

    with atomic_dir(out_dir) as tmp:
        for name, file in paths.SPLIT_FILES.items():
            text = "".join(canonical_json(r) + "\n" for r in splits[name])
            (tmp / file).write_text(text, encoding="utf-8", newline="\n")
        tokenizer = d["tokenizer"]
        if tokenizer is not None:
            from runners.data.tokenizer import train_and_save

            train_and_save(
                (full_text(r, fmt) for r in splits["train"]),
                int(tokenizer["vocab_size"]),
                int(tokenizer["min_frequency"]),
                tmp / paths.TOKENIZER_DIR,
            )
        files = file_hashes(tmp)
        manifest = {
            "manifest_version": MANIFEST_VERSION,
            "dataset": dataset,
            "format": fmt,
            "source": raw.origin,
            "raw_sha256": raw.sha256,
            "raw_rows": len(raw.rows),
            "clean": dropped,
            "rows": {name: len(splits[name]) for name in paths.SPLIT_FILES},
            "files": files,
            "data_hash": sha256_text(canonical_json(files)),
        }
        (tmp / paths.DATA_MANIFEST).write_text(dump_json(manifest), encoding="utf-8", newline="\n")
    return manifest


def read_manifest(data_dir: Path) -> dict[str, Any]:
    """The manifest of a prepared data set; a RunnerError if it was never prepared."""
    import json

    path = data_dir / paths.DATA_MANIFEST
    if not path.is_file():
        raise RunnerError(f"{data_dir}: prepared data not found (run the prepare stage first)")
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def main(argv: list[str] | None = None) -> int:
    args = cli.parser(
        "python -m runners.prepare", "Prepare one data set listed in params.yaml.", "dataset_key"
    ).parse_args(argv)

    def body() -> None:
        params = load_params(args.root)
        dataset = dataset_params(params, args.dataset_key)
        out = args.root / paths.data_dir(args.dataset_key)
        m = prepare(dataset, out, args.root)
        rows = ", ".join(f"{k} {v}" for k, v in m["rows"].items())
        print(f"prepared {args.dataset_key}: {rows} rows -> {paths.data_dir(args.dataset_key)}")

    return cli.run(body)


if __name__ == "__main__":
    sys.exit(main())
