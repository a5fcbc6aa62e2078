"""What a difference between two results is caused by: flat input keys, grouped by cause.

Shared by ``repro diff A B`` (``repro.results.diff``) and ``repro diff REV [REV]``
(``repro.results.revdiff``). An input key is a flat path: ``spec.train.optimizer.lr``,
``data.split.test``, ``code.runners/train.py``, ``env.torch``, ``hardware.cpu``; a base
spec's keys carry its name, ``base:tiny-pretrain:spec.train.max_steps``, and are shown
under the cause ``base tiny-pretrain``. Standard library only.
"""

from __future__ import annotations

from typing import Any


def flatten(value: Any, prefix: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if isinstance(value, dict) and value:
        for k, v in value.items():
            out.update(flatten(v, f"{prefix}.{k}" if prefix else str(k)))
    else:
        out[prefix] = value
    return out


def spec_inputs(params: dict | None, dataset: dict | None, prefix: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    params = dict(params or {})
    params.pop("data", None)  # the dataset key: a hash of the data section, compared below
    out.update(flatten(params, f"{prefix}spec"))
    dataset = dict(dataset or {})
    if dataset.get("seed") == params.get("seed"):
        dataset.pop("seed", None)  # the spec's seed, inherited: already compared
    tok = dataset.get("tokenizer_from")
    if isinstance(tok, dict) and "data" in tok:
        # the base spec's data set, by its key (a hash): its fields are compared under
        # ``base NAME``, so a change there is one row, not two
        dataset["tokenizer_from"] = {**tok, "data": "the base spec's data set"}
    out.update(flatten(dataset, f"{prefix}data"))
    return out


UPSTREAM = ("base ", "uses ")  # the causes that are another spec's fields, collapsed
GROUPS = {"spec": "spec", "data": "data", "raw": "data", "base_model": "base model",
          "code": "code", "env": "packages", "hardware": "hardware",
          "envvar": "environment variables"}
ORDER = ["spec", "data", "base model", "base", "code", "packages", "hardware",
         "environment variables"]


def category(key: str) -> str:
    """What kind of input a key is (what a side may not know): spec, data, raw, code, ..."""
    leaf = key.rsplit(":", 1)[-1]
    return "raw" if leaf == "data.raw_hash" else leaf.split(".")[0]


def group(key: str) -> str:
    """The cause a key is shown under: ``spec``, ``data``, ``code``, ``packages``,
    ``hardware``, ... or ``base NAME`` for every field of a base spec (``uses NAME`` for
    another spec it reads, such as a GRPO reward model)."""
    if key.startswith(("base:", "uses:")):
        kind, name = key.split(":")[:2]
        return f"{kind} {name}"
    return GROUPS.get(category(key), category(key))


def group_rank(name: str) -> tuple[int, str]:
    return (ORDER.index("base") if name.startswith(UPSTREAM) else
            ORDER.index(name) if name in ORDER else len(ORDER), name)


VERDICT = "verdict: "  # the one line every answer of `repro diff` ends with


def short(v: Any, n: int = 40) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.6g}"
    s = str(v)
    if len(s) == 64 and all(c in "0123456789abcdef" for c in s):
        return s[:12]
    return s if len(s) <= n else s[: n - 1] + "…"
