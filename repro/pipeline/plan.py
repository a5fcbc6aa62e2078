"""``repro plan SPEC``: a preflight before any compute.

The model is built on PyTorch's meta device (shapes only, no weights, no memory), so a
7B config plans in seconds. It reports total and trainable parameters, whether every
LoRA target module exists (an error names the ones that do), an estimate of the memory
for weights, gradients and optimizer state, and the tokens per optimizer step. The spec
checks (method/data mismatches, fp16 without CUDA, ...) have already run when the spec
was loaded, so a plan is only made for a valid spec.

Activations are not estimated: they depend on the sequence lengths actually drawn, the
attention kernel and gradient checkpointing.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from repro.contract import paths
from repro.errors import ReproError, SpecError, SpecErrors
from repro.spec.schema import ConfigBase, HubBase, PathBase, SpecBase
from repro.spec.workspace import Entry

FP32 = 4
ADAMW_8BIT_MIN = 4096  # bitsandbytes keeps smaller tensors' state in 32 bits


@dataclass
class Plan:
    spec: str
    base: str
    arch: str
    parameters: int
    trainable: int
    method: str
    adapter: dict[str, Any] | None
    memory: dict[str, int]  # bytes: weights, gradients, optimizer, total
    tokens_per_step: int
    tokens_per_step_formula: str
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# ----------------------------------------------------------------------------- the model


def _meta_model(root: Path, entry: Entry, by_name: dict[str, Entry], notes: list[str]):
    """``(model on the meta device, description of the base)`` for a spec."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    from runners.models.modeling import config_from_spec

    base = entry.spec.model.base
    hf_config = None
    label = ""
    if isinstance(base, SpecBase):
        trained = root / paths.model_dir(base.spec) / "config.json"
        if trained.is_file():
            hf_config = AutoConfig.from_pretrained(trained.parent)
            label = f"spec {base.spec} (trained: {paths.model_dir(base.spec)})"
        else:
            other = by_name[base.spec]
            model, inner = _meta_model(root, other, by_name, notes)
            return model, f"spec {base.spec} (not trained yet; from its {inner})"
    elif isinstance(base, ConfigBase):
        vocab = _vocab_size(root, entry, notes)
        cfg = base.config.model_dump(mode="json")
        hf_config, model_cls = config_from_spec(
            cfg, vocab, {"bos_token_id": None, "eos_token_id": None, "pad_token_id": None})
        label = "config"
    elif isinstance(base, PathBase):
        hf_config = AutoConfig.from_pretrained(root / base.path)
        label = f"path {base.path}"
    elif isinstance(base, HubBase):
        try:
            hf_config = AutoConfig.from_pretrained(base.hub, revision=base.revision)
        except (OSError, ValueError) as e:
            raise ReproError(
                f"{entry.file}: model.base.hub: cannot read the config of '{base.hub}' "
                f"({str(e).splitlines()[0] if str(e) else type(e).__name__})"
            ) from None
        label = f"hub {base.hub}"
    with torch.device("meta"):
        if isinstance(base, ConfigBase):
            model = model_cls(hf_config)
        else:
            model = AutoModelForCausalLM.from_config(hf_config)
    return model, label


def _vocab_size(root: Path, entry: Entry, notes: list[str]) -> int:
    """The prepared tokenizer's size when the data is prepared, else the spec's vocab_size."""
    from repro.pipeline.graph import resolve_dataset, short_hash

    tok_spec = entry.spec.data.tokenizer
    data = resolve_dataset(entry)
    for d in (root / paths.DATA_ROOT).glob(f"*-{short_hash(data)}"):
        tok = d / paths.TOKENIZER_DIR / "tokenizer.json"
        if tok.is_file():
            vocab = json.loads(tok.read_text(encoding="utf-8"))
            n = len(vocab["model"]["vocab"])
            added = {t["id"] for t in vocab.get("added_tokens", [])}
            return max(n, max(added, default=-1) + 1)
    notes.append(f"vocabulary taken as data.tokenizer.vocab_size ({tok_spec.vocab_size}): "
                 "the data is not prepared yet")
    return tok_spec.vocab_size


# ----------------------------------------------------------------------------- counting


def _unique_params(model) -> list[tuple[str, Any]]:
    seen, out = set(), []
    for name, p in model.named_parameters():
        if id(p) not in seen:
            seen.add(id(p))
            out.append((name, p))
    return out


def _adaptable(model) -> dict[str, tuple[int, int]]:
    """``{module name: (in_features, out_features)}`` of the layers LoRA can adapt."""
    import torch

    out = {}
    for name, m in model.named_modules():
        if isinstance(m, torch.nn.Linear):
            out[name] = (m.in_features, m.out_features)
        elif type(m).__name__ == "Conv1D":  # GPT-2's transposed linear
            out[name] = (m.weight.shape[0], m.weight.shape[1])
    return out


def _matches(name: str, target: str) -> bool:
    return name == target or name.endswith("." + target)


def _optimizer_bytes(optimizer: Any, shapes: list[tuple[int, ...]]) -> int:
    total = 0
    for shape in shapes:
        n = 1
        for d in shape:
            n *= d
        if optimizer.name == "adamw":
            total += 2 * FP32 * n
        elif optimizer.name == "adamw_8bit":
            total += (2 if n >= ADAMW_8BIT_MIN else 2 * FP32) * n
        elif optimizer.name == "sgd":
            total += FP32 * n if optimizer.momentum > 0 else 0
        elif optimizer.name == "adafactor":
            # factored second moment: a row and a column vector for matrices
            total += FP32 * (shape[0] + shape[-1] if len(shape) >= 2 else n)
    return total


def _plan_one(root: Path, entry: Entry, by_name: dict[str, Entry]) -> Plan:
    notes: list[str] = []
    spec = entry.spec
    train = spec.train
    model, label = _meta_model(root, entry, by_name, notes)
    arch = getattr(model.config, "model_type", "?")
    params = _unique_params(model)
    total = sum(p.numel() for _, p in params)
    peft = getattr(train, "peft", None)
    layers = _adaptable(model)
    adapter = None
    trainable_shapes: list[tuple[int, ...]] = []
    weight_bytes = total * FP32
    if peft is None:
        trainable = total
        trainable_shapes = [tuple(p.shape) for _, p in params]
    else:
        missing = [t for t in peft.target_modules if not any(_matches(n, t) for n in layers)]
        if missing:
            existing = sorted({n.rsplit(".", 1)[-1] for n in layers})
            pos = entry.doc.pos(("train", "peft", "target_modules")) if entry.doc else None
            raise SpecErrors([SpecError(
                f"no module named {', '.join(repr(m) for m in missing)} in this {arch} model",
                pos=pos, field="train.peft.target_modules",
                hint="modules that exist: " + ", ".join(existing),
            )])
        targets = {n: io for n, io in layers.items()
                   if any(_matches(n, t) for t in peft.target_modules)}
        trainable = 0
        for fan_in, fan_out in targets.values():
            trainable += peft.r * (fan_in + fan_out) + (fan_out if peft.kind == "dora" else 0)
            trainable_shapes += [(peft.r, fan_in), (fan_out, peft.r)]
            if peft.kind == "dora":
                trainable_shapes.append((fan_out,))
        # peft matches modules_to_save by plain suffix ("norm" takes every *layernorm too)
        saved = [m for n, m in model.named_modules()
                 if n and any(n.endswith(t) for t in peft.modules_to_save)]
        for module in saved:  # a trainable copy of each (of tied weights too)
            for p in module.parameters():
                trainable += p.numel()
                trainable_shapes.append(tuple(p.shape))
        if peft.kind == "qlora":
            # every linear layer but the output head is stored in 4 bits, plus constants
            quant = sum(i * o for n, (i, o) in layers.items() if not n.endswith("lm_head"))
            per_param = 0.5 + (1 / 64 + FP32 / (64 * 256) if peft.double_quant else FP32 / 64)
            weight_bytes = int((total - quant) * FP32 + quant * per_param)
        weight_bytes += (trainable) * FP32
        adapter = {"kind": peft.kind, "r": peft.r, "modules": len(targets),
                   "modules_to_save": len(saved)}
    grads = trainable * FP32
    opt = _optimizer_bytes(train.optimizer, trainable_shapes)
    world = train.distributed.processes if train.distributed else 1
    tokens = train.batch_size * train.grad_accum * train.max_length * world
    formula = (f"{train.batch_size} batch x {train.grad_accum} accumulation x "
               f"{train.max_length} tokens" + (f" x {world} processes" if world > 1 else ""))
    if train.precision != "fp32":
        notes.append(f"{train.precision}: autocast; weights, gradients and optimizer state "
                     "stay in fp32")
    notes.append("activations not included")
    return Plan(
        spec=entry.name, base=label, arch=arch, parameters=total, trainable=trainable,
        method=train.method + (f" + {peft.kind}" if peft else ""), adapter=adapter,
        memory={"weights": weight_bytes, "gradients": grads, "optimizer": opt,
                "total": weight_bytes + grads + opt},
        tokens_per_step=tokens, tokens_per_step_formula=formula, notes=notes,
    )


def plan(root: Path, entries: list[Entry], selected: list[Entry]) -> list[Plan]:
    by_name = {e.name: e for e in entries}
    return [_plan_one(root, e, by_name) for e in selected]


def human_bytes(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.2f} {unit}"
        size /= 1024
    return f"{n} B"
