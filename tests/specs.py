"""Tiny valid specs for tests: one builder, per-method defaults, overrides, spec-file YAML, params.

``spec("sft", {"train.optimizer.lr": 1e-3}, train={"max_steps": 5})`` is a tiny valid spec as a
dict: keyword sections deep-merge into the method's defaults, then dotted paths replace one
value each (a whole subtree when the value is a mapping). ``to_yaml`` renders it as a spec file would read;
``compile_params`` turns named specs into the ``params.yaml`` entries runners read, through
repro's own loader, checks and compiler, so no schema default is restated here.

TINY_PRETRAIN and TINY_SFT stay literal text: tests that check a line and column in a spec
file (tests/repro/test_validate_errors.py) edit that text; the builder's defaults parse it.
"""

from __future__ import annotations

import copy
import tempfile
from pathlib import Path
from typing import Any

import yaml

TINY_PRETRAIN = """\
spec_version: 2
seed: 7
data:
  source: {builtin: grammar, size: 300}
  format: text
  tokenizer: {kind: bpe, vocab_size: 300}
model:
  base:
    config: {hidden_size: 32, intermediate_size: 64, num_hidden_layers: 1, num_attention_heads: 2}
train:
  method: pretrain
  optimizer: {name: adamw, lr: 3.0e-3}
  max_steps: 30
  batch_size: 8
  max_length: 48
evaluate:
  metrics: [perplexity]
  max_examples: 20
tracking:
  mlflow: false
"""

TINY_SFT = """\
spec_version: 2
seed: 7
data:
  source: {builtin: arithmetic, size: 300}
  format: instruction
model:
  base: {spec: pre}
train:
  method: sft
  optimizer: {name: adamw, lr: 1.0e-3}
  max_steps: 20
  batch_size: 8
  max_length: 32
evaluate:
  metrics: [perplexity, exact_match]
  max_examples: 20
tracking:
  mlflow: false
"""

PREFERENCE_DATA = {"source": {"builtin": "arithmetic-preference", "size": 300},
                   "format": "preference"}
CHAT_DATA = {"source": {"builtin": "arithmetic-chat", "size": 300}, "format": "chat"}
FEEDBACK_DATA = {"source": {"builtin": "arithmetic-feedback", "size": 300}, "format": "feedback"}

# per method: the changes to the tiny pretrain / sft spec that make it a valid spec of that method
METHODS: dict[str, tuple[str, dict[str, Any]]] = {
    "pretrain": (TINY_PRETRAIN, {}),
    "sft": (TINY_SFT, {}),
    "trl-sft": (TINY_SFT, {"train.method": "trl-sft"}),
    "dpo": (TINY_SFT, {"data": PREFERENCE_DATA, "train.method": "dpo",
                       "evaluate.metrics": ["preference_accuracy"]}),
    "reward": (TINY_SFT, {"data": PREFERENCE_DATA, "train.method": "reward",
                          "evaluate.metrics": ["preference_accuracy"]}),
    "grpo": (TINY_SFT, {"train.method": "grpo", "train.reward": {"function": "exact_match"},
                        "evaluate.metrics": ["exact_match"]}),
    "rloo": (TINY_SFT, {"train.method": "rloo", "train.reward": {"function": "exact_match"},
                        "evaluate.metrics": ["exact_match"]}),
    "kto": (TINY_SFT, {"data": FEEDBACK_DATA, "train.method": "kto",
                       "evaluate.metrics": ["exact_match"]}),
    "orpo": (TINY_SFT, {"data": PREFERENCE_DATA, "train.method": "orpo",
                        "evaluate.metrics": ["preference_accuracy"]}),
    "distill": (TINY_SFT, {"train.method": "distill", "model.teacher": {"spec": "pre"},
                           "evaluate.metrics": ["exact_match"]}),
}


def merge(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``changes`` deep-merged in (a copy; mappings merge, anything else replaces)."""
    out = copy.deepcopy(base)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def set_path(doc: dict[str, Any], dotted: str, value: Any) -> dict[str, Any]:
    """``doc`` (changed in place, and returned) with ``a.b.c`` set to ``value``; an existing key
    keeps its place in the file, a new one goes last in its mapping."""
    *parents, last = dotted.split(".")
    node = doc
    for part in parents:
        node = node.setdefault(part, {})
    node[last] = copy.deepcopy(value)
    return doc


def spec(method: str | dict[str, Any] = "pretrain", paths: dict[str, Any] | None = None, /,
         **sections: Any) -> dict[str, Any]:
    """A tiny valid spec for ``method`` (or a copy of a spec dict). Keyword sections deep-merge
    into it (``train={"max_steps": 5}``); then each ``paths`` entry replaces one value, a dotted
    path to it (``{"train.optimizer.lr": 1e-3, "model.base": {"path": "base"}}``)."""
    if isinstance(method, dict):
        doc = copy.deepcopy(method)
    else:
        text, method_paths = METHODS[method]
        doc = yaml.safe_load(text)
        for key, value in method_paths.items():
            set_path(doc, key, value)
    doc = merge(doc, sections)
    for key, value in (paths or {}).items():
        set_path(doc, key, value)
    return doc


def to_yaml(doc: dict[str, Any]) -> str:
    """Spec-file text: sections as blocks, innermost mappings and lists in flow style."""
    return yaml.safe_dump(doc, sort_keys=False, default_flow_style=None, width=1000,
                          allow_unicode=True)


def line_of(text: str, needle: str) -> int:
    """The 1-based number of the only line of ``text`` that contains ``needle``."""
    (number,) = [i for i, line in enumerate(text.splitlines(), 1) if needle in line]
    return number


def write_specs(root: Path, specs: dict[str, dict[str, Any] | str]) -> Path:
    """``specs/<name>.yaml`` under ``root`` for each spec (a dict, or text written as is)."""
    for name, doc in specs.items():
        f = root / "specs" / (name if name.endswith((".yaml", ".yml")) else f"{name}.yaml")
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(doc if isinstance(doc, str) else to_yaml(doc), encoding="utf-8")
    return root


def compile_params(specs: dict[str, dict[str, Any]], data_keys: dict[str, str] | None = None,
                   ) -> dict[str, Any]:
    """The ``params.yaml`` document repro's compiler writes for ``specs`` (name -> spec dict),
    compiled in a scratch workspace. ``data_keys`` names data sets for readable tests: spec
    name -> the key its data set gets in place of the compiler's ``<label>-<hash>``."""
    from repro.pipeline.compiler import compile_workspace
    from repro.spec.workspace import load_workspace

    with tempfile.TemporaryDirectory() as tmp:
        root = write_specs(Path(tmp), specs)
        entries = load_workspace(root)
        errors = [e.format() for entry in entries for e in entry.errors]
        assert not errors, "\n".join(errors)
        params = yaml.safe_load(compile_workspace(root, entries).params_yaml)
    renamed = {params["specs"][name]["data"]: key for name, key in (data_keys or {}).items()}
    return rename_datasets(params, renamed)


def rename_datasets(params: dict[str, Any], renamed: dict[str, str]) -> dict[str, Any]:
    """``params`` with data set keys renamed (``old -> new``) everywhere a key is named."""
    def key(k: str) -> str:
        return renamed.get(k, k)

    datasets = {}
    for k, dataset in params["datasets"].items():
        source = dataset.get("tokenizer_from")
        if isinstance(source, dict) and "data" in source:
            dataset = {**dataset, "tokenizer_from": {**source, "data": key(source["data"])}}
        datasets[key(k)] = dataset
    specs = {name: {**entry, "data": key(entry["data"])} for name, entry in params["specs"].items()}
    return {**params, "datasets": datasets, "specs": specs}
