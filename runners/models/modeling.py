"""Building and loading models and tokenizers from a spec's ``model.base``.

    {config: {arch: llama, ...}}      -> a fresh LlamaForCausalLM (seeded init, tied embeddings)
    {spec: <name>}                    -> runs/<name>/model (a full model, never an adapter)
    {path: some/dir}                  -> a local Hugging Face model directory
    {hub: org/name, revision: <sha>}  -> from_pretrained(org/name, revision=<sha>)

The tokenizer is the prepared data set's ``tokenizer/`` when it has one, else the base
model's. A trained spec's output is a full model directory, or, when the spec used
LoRA, an adapter that is loaded on top of the same base (peft and the bitsandbytes
gate: ``runners/models/adapters.py``).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from repro.contract import paths
from runners.errors import RunnerError, confined
from runners.models.adapters import (  # noqa: F401  (add_adapter etc.: re-exported for callers)
    add_adapter,
    enable_gradient_checkpointing,
    load_adapter,
    quantization_config,
    release_checkpoint_file,
)
from runners.models.adapters import first_line as _first_line
from runners.params import base_kind

ADAPTER_CONFIG = "adapter_config.json"
# the spec's size fields under their GPT-2 names
GPT2_NAMES = {
    "hidden_size": "n_embd",
    "intermediate_size": "n_inner",
    "num_hidden_layers": "n_layer",
    "num_attention_heads": "n_head",
    "max_position_embeddings": "n_positions",
}


@dataclass(frozen=True)
class BaseRef:
    """Where a base model comes from: ``kind`` and a location for from_pretrained."""

    kind: str  # config | spec | path | hub
    location: str | None  # a directory or hub id; None for a config base
    revision: str | None = None
    label: str = ""  # workspace-relative, for records (no absolute paths)


def base_ref(base: dict[str, Any], root: Path) -> BaseRef:
    kind = base_kind(base)
    if kind == "config":
        return BaseRef("config", None, label="config")
    if kind == "spec":
        rel = paths.model_dir(base["spec"])
        full = root / rel
        if not (full / "config.json").is_file():
            if (full / ADAPTER_CONFIG).is_file():
                raise RunnerError(
                    f"model.base.spec: {rel} holds a LoRA adapter; a base must be a full model"
                )
            raise RunnerError(
                f"model.base.spec: {rel} not found (train spec {base['spec']!r} first)"
            )
        return BaseRef("spec", str(full), label=rel.as_posix())
    if kind == "path":
        full = confined(root, base["path"], "model.base.path")
        if not full.is_dir():
            raise RunnerError(f"model.base.path: {base['path']} is not a directory")
        return BaseRef("path", str(full), label=str(base["path"]))
    return BaseRef("hub", str(base["hub"]), base.get("revision"), label=str(base["hub"]))


def load_tokenizer(location: str | Path, revision: str | None = None):
    from transformers import AutoTokenizer

    try:
        tok = AutoTokenizer.from_pretrained(str(location), revision=revision)
    except (OSError, ValueError) as e:
        raise RunnerError(f"cannot load a tokenizer from {location}: {_first_line(e)}") from None
    if tok.pad_token_id is None:  # e.g. Llama tokenizers: pad with EOS
        tok.pad_token = tok.eos_token
    # transformers copies this load-time setting (True under HF_HUB_OFFLINE=1) into the
    # tokenizer_config.json that save_pretrained writes: the saved tokenizer, and so the
    # model folder and the prepared data set's key, would depend on the environment
    tok.init_kwargs.pop("local_files_only", None)
    return tok


def resolve_tokenizer(data_dir: Path, ref: BaseRef):
    """The data set's own tokenizer if it has one, else the base model's."""
    own = data_dir / paths.TOKENIZER_DIR
    if own.is_dir():
        return load_tokenizer(own)
    if ref.kind == "config":
        raise RunnerError(
            f"model.base.config builds a model from scratch and needs a tokenizer, but "
            f"{data_dir} has none: set `tokenizer` in the data set"
        )
    return load_tokenizer(ref.location, ref.revision)


def config_from_spec(config: dict[str, Any], vocab_size: int, special: dict[str, Any] | None = None):
    """``(config_class_instance, model_class)`` for a ``model.base.config`` section."""
    cfg = {k: v for k, v in config.items() if v is not None}  # null: the library default
    arch = cfg.pop("arch", "llama")
    special = {"vocab_size": vocab_size, "tie_word_embeddings": True, **(special or {})}
    try:
        if arch == "llama":
            from transformers import LlamaConfig, LlamaForCausalLM

            return LlamaConfig(**special, **cfg), LlamaForCausalLM
        if arch == "gpt2":
            from transformers import GPT2Config, GPT2LMHeadModel

            if "num_key_value_heads" in cfg:
                raise RunnerError("model.base.config.num_key_value_heads: not a gpt2 field")
            hf = {GPT2_NAMES.get(k, k): v for k, v in cfg.items()}
            return GPT2Config(**special, **hf), GPT2LMHeadModel
    except (TypeError, ValueError) as e:
        raise RunnerError(f"model.base.config: {_first_line(e)}") from None
    raise RunnerError(f"model.base.config.arch: unknown value {arch!r} (expected: llama, gpt2)")


def build_from_config(config: dict[str, Any], tokenizer, seed: int):
    """A freshly initialised decoder (``arch``: llama or gpt2); same seed, same weights."""
    import torch

    hf_config, model_cls = config_from_spec(config, len(tokenizer), {
        "bos_token_id": tokenizer.bos_token_id,
        "eos_token_id": tokenizer.eos_token_id,
        "pad_token_id": tokenizer.pad_token_id,
    })
    torch.manual_seed(seed)
    return model_cls(hf_config)


def load_pretrained(location: str, revision: str | None = None, quantization=None):
    """``from_pretrained`` in fp32, or in 4 bits when ``quantization`` (a BitsAndBytesConfig)."""
    import torch
    from transformers import AutoModelForCausalLM

    extra: dict[str, Any] = {}
    if quantization is not None:
        extra = {"quantization_config": quantization, "device_map": {"": _device()}}
    try:
        model = AutoModelForCausalLM.from_pretrained(
            location, revision=revision, dtype=torch.float32, **extra
        )
    except (OSError, ValueError) as e:
        raise RunnerError(f"cannot load a model from {location}: {_first_line(e)}") from None
    if quantization is not None:
        release_checkpoint_file(model)
    return model


def build_base(
    base: dict[str, Any], ref: BaseRef, tokenizer, seed: int, peft: dict[str, Any] | None = None
):
    """The base model a spec starts from, checked against its tokenizer; loaded in 4 bits
    when ``peft`` is a QLoRA section."""
    if ref.kind == "config":
        if peft is not None and peft["kind"] == "qlora":
            raise RunnerError(
                "train.peft.kind: qlora quantizes pretrained weights; model.base must be a "
                "trained spec, a path or a hub id, not a config"
            )
        model = build_from_config(base["config"], tokenizer, seed)
    else:
        quant = quantization_config(peft) if peft and peft["kind"] == "qlora" else None
        model = load_pretrained(ref.location, ref.revision, quant)
        rows = model.get_input_embeddings().num_embeddings
        if len(tokenizer) > rows:
            raise RunnerError(
                f"the tokenizer has {len(tokenizer)} tokens but the base model {ref.label} "
                f"only {rows} embeddings: use the base model's tokenizer (set the data set's "
                f"tokenizer to null)"
            )
    # saved configs hold workspace-relative names, never this machine's absolute paths
    name_or_path = "" if ref.kind == "config" else ref.label
    model.config._name_or_path = name_or_path
    model.name_or_path = name_or_path
    return model


def _device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def save(model, tokenizer, out: Path, max_length: int) -> None:
    """``save_pretrained`` the model (or LoRA adapter) and its tokenizer into ``out``.

    The tokenizer records the training ``max_length`` as its ``model_max_length``, so
    evaluation truncates exactly as training did without reading the train params.
    """
    tokenizer.model_max_length = max_length
    for config in (getattr(model, "peft_config", None) or {}).values():
        # peft keeps target_modules as a set, whose order varies between processes;
        # a sorted list keeps adapter_config.json byte-identical from run to run
        if isinstance(config.target_modules, set):
            config.target_modules = sorted(config.target_modules)
    if hasattr(model, "peft_config"):
        # LoRA never resizes the embeddings; "auto" would probe the Hub to find out
        model.save_pretrained(str(out), save_embedding_layers=False)
    else:
        model.save_pretrained(str(out))
    tokenizer.save_pretrained(str(out))


def is_adapter(model_dir: Path) -> bool:
    return (model_dir / ADAPTER_CONFIG).is_file()


def load_trained(spec: dict[str, Any], name: str, root: Path):
    """``(model, tokenizer)`` for a trained spec: its full model, or, when its model
    directory holds a LoRA adapter, its base (from ``spec["model"]["base"]``) plus the
    adapter. Reads no ``train`` field, so evaluation depends on the train stage only
    through its output."""
    model_dir = root / paths.model_dir(name)
    if not model_dir.is_dir():
        raise RunnerError(f"{paths.model_dir(name)}: not found (run the train stage first)")
    tokenizer = load_tokenizer(model_dir)
    if not is_adapter(model_dir):
        return load_pretrained(str(model_dir)), tokenizer
    ref = base_ref(spec["model"]["base"], root)
    base = build_base(spec["model"]["base"], ref, tokenizer, spec["seed"])
    return load_adapter(base, str(model_dir)), tokenizer


def is_reward_model(model_dir: Path) -> bool:
    """A sequence-classification model (the output of ``train.method: reward``)."""
    import json

    config = Path(model_dir) / "config.json"
    if not config.is_file():
        return False
    archs = json.loads(config.read_text(encoding="utf-8")).get("architectures") or []
    return any(a.endswith("ForSequenceClassification") for a in archs)


def load_reward_model(location: str | Path):
    """``(model, tokenizer)`` of a trained reward model directory."""
    import torch
    from transformers import AutoModelForSequenceClassification

    tokenizer = load_tokenizer(location)
    try:
        model = AutoModelForSequenceClassification.from_pretrained(
            str(location), dtype=torch.float32
        )
    except (OSError, ValueError) as e:
        raise RunnerError(f"cannot load a reward model from {location}: {_first_line(e)}") from None
    model.config.pad_token_id = tokenizer.pad_token_id
    return model, tokenizer


def build_reward_base(base: dict[str, Any], ref: BaseRef, tokenizer, seed: int):
    """The base model with a fresh one-output score head (seeded) in place of its LM head."""
    import torch
    from transformers import AutoModelForSequenceClassification

    torch.manual_seed(seed)
    if ref.kind == "config":
        config = build_from_config(base["config"], tokenizer, seed).config
        config.num_labels = 1
        model = AutoModelForSequenceClassification.from_config(config)
    else:
        try:
            with _quiet_new_head():
                model = AutoModelForSequenceClassification.from_pretrained(
                    ref.location, revision=ref.revision, num_labels=1, dtype=torch.float32
                )
        except (OSError, ValueError) as e:
            raise RunnerError(f"cannot load a model from {ref.label}: {_first_line(e)}") from None
    model.config.pad_token_id = tokenizer.pad_token_id
    name_or_path = "" if ref.kind == "config" else ref.label
    model.config._name_or_path = name_or_path
    model.name_or_path = name_or_path
    return model


@contextlib.contextmanager
def _quiet_new_head():
    """transformers reports the new score head as missing weights: expected here."""
    from transformers.utils import logging as hf_logging

    level = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    try:
        yield
    finally:
        hf_logging.set_verbosity(level)


def parameter_counts(model) -> tuple[int, int]:
    """(trainable, total) parameter counts; tied weights counted once."""
    seen, trainable, total = set(), 0, 0
    for p in model.parameters():
        if id(p) in seen:
            continue
        seen.add(id(p))
        total += p.numel()
        if p.requires_grad:
            trainable += p.numel()
    return trainable, total


