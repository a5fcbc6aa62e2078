"""``repro plan SPEC``: a preflight before any compute (the control-plane half: compile, estimate).

The model is built on PyTorch's meta device (shapes only, no weights, no memory) by
``python -m runners.plan``, which reports what only the model can tell; this module turns
that into the plan and never imports the ML stack. A 7B config plans in seconds. It
reports total and trainable parameters, whether every LoRA target module exists (an
error names the ones that do), an estimate of the memory for weights, gradients and
optimizer state, plus the frozen models a method keeps beside it (the reference model of
DPO and KTO, a distillation teacher), and the tokens per optimizer step. The spec checks (method/data
mismatches, fp16 without CUDA, ...) have already run when the spec was loaded, so a plan
is only made for a valid spec.

Activations are not estimated: they depend on the sequence lengths actually drawn, the
attention kernel and gradient checkpointing.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from repro.errors import ReproError, SpecError, SpecErrors
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
    memory: dict[str, int]  # bytes: weights, gradients, optimizer, [reference, teacher,] total
    tokens_per_step: int
    tokens_per_step_formula: str
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# ----------------------------------------------------------------------------- counting


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


def _plan_one(entry: Entry, facts: dict[str, Any]) -> Plan:
    """A plan from what the model said about itself (``python -m runners.plan``)."""
    if "error" in facts:
        raise ReproError(f"{entry.file}: {facts['error']}")
    if "missing" in facts:
        pos = entry.doc.pos(("train", "peft", "target_modules")) if entry.doc else None
        raise SpecErrors([SpecError(
            f"no module named {', '.join(repr(m) for m in facts['missing'])} in this "
            f"{facts['arch']} model",
            pos=pos, field="train.peft.target_modules",
            hint="modules that exist: " + ", ".join(facts["existing"]),
        )])
    notes: list[str] = list(dict.fromkeys(facts["notes"]))  # a teacher may repeat one
    train = entry.spec.train
    peft = getattr(train, "peft", None)
    total, trainable = facts["parameters"], facts["trainable"]
    weight_bytes = total * FP32
    if peft is not None:
        if peft.kind == "qlora":
            # every linear layer but the output head is stored in 4 bits, plus constants
            quant = facts["quantized"]
            per_param = 0.5 + (1 / 64 + FP32 / (64 * 256) if peft.double_quant else FP32 / 64)
            weight_bytes = int((total - quant) * FP32 + quant * per_param)
        weight_bytes += trainable * FP32
    grads = trainable * FP32
    opt = _optimizer_bytes(train.optimizer, [tuple(s) for s in facts["trainable_shapes"]])
    world = train.distributed.processes if train.distributed else 1
    tokens = train.batch_size * train.grad_accum * train.max_length * world
    formula = (f"{train.batch_size} batch x {train.grad_accum} accumulation x "
               f"{train.max_length} tokens" + (f" x {world} processes" if world > 1 else ""))
    frozen = _frozen_models(entry, facts, notes)
    if train.precision != "fp32":
        notes.append(f"{train.precision}: autocast; weights, gradients and optimizer state "
                     "stay in fp32")
    notes.append("activations not included")
    return Plan(
        spec=entry.name, base=facts["base"], arch=facts["arch"], parameters=total,
        trainable=trainable, method=train.method + (f" + {peft.kind}" if peft else ""),
        adapter=facts["adapter"],
        memory={"weights": weight_bytes, "gradients": grads, "optimizer": opt, **frozen,
                "total": weight_bytes + grads + opt + sum(frozen.values())},
        tokens_per_step=tokens, tokens_per_step_formula=formula, notes=notes,
    )


def _frozen_models(entry: Entry, facts: dict[str, Any], notes: list[str]) -> dict[str, int]:
    """Bytes of the frozen models a method holds beside the one it trains: a reference copy
    of the base (dpo and kto, grpo and rloo with beta > 0; none with an adapter, whose
    disabled base is the reference) and a distillation teacher (fp32 weights only)."""
    from repro.spec.schema import REFERENCE_METHODS

    train, out = entry.spec.train, {}
    peft = getattr(train, "peft", None)
    if peft is None and (train.method in REFERENCE_METHODS or getattr(train, "beta", 0) > 0
                         and train.method in ("grpo", "rloo")):
        out["reference"] = facts["parameters"] * FP32
        notes.append(f"{train.method}: a frozen copy of the base as the reference model")
    if facts.get("teacher_parameters"):
        out["teacher"] = facts["teacher_parameters"] * FP32
        notes.append(f"teacher {entry.spec.model.teacher.spec}: "
                     f"{facts['teacher_parameters']:,} parameters, frozen")
    return out


def plan(root: Path, entries: list[Entry], selected: list[Entry]) -> list[Plan]:
    """A plan per selected spec; the models are built by ``python -m runners.plan`` from
    the freshly compiled params (nothing is written to the workspace)."""
    from repro.pipeline.compiler import params_text
    from repro.pipeline.run import run_runner

    if not selected:
        return []
    params_yaml = params_text(root, entries)
    by_name = {e.name: e for e in entries}
    facts = run_runner(root, "runners.plan", [*(e.name for e in selected), "--root", str(root)],
                       params_yaml=params_yaml)
    return [_plan_one(by_name[f["spec"]], f) for f in facts]


def human_bytes(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.2f} {unit}"
        size /= 1024
    return f"{n} B"
