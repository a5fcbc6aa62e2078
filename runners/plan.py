"""``python -m runners.plan SPEC...``: the ML half of ``repro plan`` (models on the meta device).

It reads the specs from params.yaml like the stages do, builds every model on PyTorch's
meta device (shapes only, no weights, no memory) and prints one line of JSON: per spec,
the facts only the model can tell (architecture, parameter counts, the layers a LoRA
adapter would wrap, the shapes it would train). The control plane
(``repro/pipeline/plan.py``) turns them into memory estimates and renders the plan.

Output, one entry per spec, in the order asked, stopping at the first that fails::

    {"spec", "base", "arch", "parameters", "trainable", "trainable_shapes", "quantized",
     "adapter": {"kind", "r", "modules", "modules_to_save"} | null, "notes",
     "teacher_parameters" (a distillation spec only)}
    {"spec", "arch", "missing": [...], "existing": [...]}   a LoRA target that does not exist
    {"spec", "error": "model.base.hub: ..."}                 the spec's base cannot be read
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from repro.contract import paths
from repro.spec.sections.model import Model
from repro.spec.sections.train import Train
from runners.errors import RunnerError
from runners.params import base_kind, dataset_params, load_params, resolve_spec, spec_params


def _vocab_size(root: Path, params: dict[str, Any], spec: dict[str, Any], notes: list[str]) -> int:
    """The prepared tokenizer's size when the data is prepared, else the spec's vocab_size."""
    key = spec["data"]
    tok = root / paths.data_dir(key) / paths.TOKENIZER_DIR / "tokenizer.json"
    if tok.is_file():
        vocab = json.loads(tok.read_text(encoding="utf-8"))
        n = len(vocab["model"]["vocab"])
        added = {t["id"] for t in vocab.get("added_tokens", [])}
        return max(n, max(added, default=-1) + 1)
    size = (dataset_params(params, key).get("tokenizer") or {}).get("vocab_size")
    teacher = spec["model"].get("teacher")
    if size is None and teacher:  # a new student takes its teacher's tokenizer
        model, _ = meta_model(root, params, teacher["spec"], notes)
        return model.config.vocab_size
    if size is None:
        raise RunnerError("model.base.config builds a model from scratch and needs a tokenizer: "
                          "set data.tokenizer")
    notes.append(f"vocabulary taken as data.tokenizer.vocab_size ({size}): "
                 "the data is not prepared yet")
    return size


def meta_model(root: Path, params: dict[str, Any], name: str, notes: list[str]):
    """``(model on the meta device, description of the base)`` for spec ``name``."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    from runners.models.modeling import config_from_spec

    spec = spec_params(params, name)
    base = spec["model"]["base"]
    kind = base_kind(base)
    model_cls = None
    if kind == "spec":
        trained = root / paths.model_dir(base["spec"]) / "config.json"
        if not trained.is_file():
            model, inner = meta_model(root, params, base["spec"], notes)
            return model, f"spec {base['spec']} (not trained yet; from its {inner})"
        hf_config = AutoConfig.from_pretrained(trained.parent)
        label = f"spec {base['spec']} (trained: {paths.model_dir(base['spec'])})"
    elif kind == "config":
        vocab = _vocab_size(root, params, spec, notes)
        no_ids = {"bos_token_id": None, "eos_token_id": None, "pad_token_id": None}
        hf_config, model_cls = config_from_spec(base["config"], vocab, no_ids)
        label = "config"
    elif kind == "path":
        from runners.errors import confined

        hf_config = AutoConfig.from_pretrained(confined(root, base["path"], "model.base.path"))
        label = f"path {base['path']}"
    else:
        try:
            hf_config = AutoConfig.from_pretrained(base["hub"], revision=base.get("revision"))
        except (OSError, ValueError) as e:
            raise RunnerError(
                f"model.base.hub: cannot read the config of '{base['hub']}' "
                f"({str(e).splitlines()[0] if str(e) else type(e).__name__})"
            ) from None
        label = f"hub {base['hub']}"
    with torch.device("meta"):
        model = model_cls(hf_config) if model_cls else AutoModelForCausalLM.from_config(hf_config)
    return model, label


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


def model_facts(root: Path, params: dict[str, Any], name: str) -> dict[str, Any]:
    """What spec ``name``'s model says about itself (see the module docstring)."""
    notes: list[str] = []
    spec = resolve_spec(spec_params(params, name), name, {"model": Model, "train": Train})
    try:
        model, label = meta_model(root, params, name, notes)
    except RunnerError as e:
        return {"spec": name, "error": str(e)}
    arch = getattr(model.config, "model_type", "?")
    params_ = _unique_params(model)
    total = sum(p.numel() for _, p in params_)
    layers = _adaptable(model)
    peft = spec["train"].get("peft")
    facts: dict[str, Any] = {"spec": name, "base": label, "arch": arch, "parameters": total}
    teacher = spec["model"].get("teacher")
    if teacher:  # distillation: the teacher is held in memory too
        try:
            teacher_model, _ = meta_model(root, params, teacher["spec"], notes)
        except RunnerError as e:
            return {"spec": name, "error": str(e)}
        facts["teacher_parameters"] = sum(p.numel() for _, p in _unique_params(teacher_model))
    # every linear layer but the output head (what 4-bit quantization stores in 4 bits)
    quantized = sum(i * o for n, (i, o) in layers.items() if not n.endswith("lm_head"))
    if peft is None:
        shapes = [list(p.shape) for _, p in params_]
        return {**facts, "trainable": total, "trainable_shapes": shapes, "quantized": quantized,
                "adapter": None, "notes": notes}
    missing = [t for t in peft["target_modules"] if not any(_matches(n, t) for n in layers)]
    if missing:
        existing = sorted({n.rsplit(".", 1)[-1] for n in layers})
        return {"spec": name, "arch": arch, "missing": missing, "existing": existing}
    targets = {n: io for n, io in layers.items()
               if any(_matches(n, t) for t in peft["target_modules"])}
    r, dora = peft["r"], peft["kind"] == "dora"
    trainable, shapes = 0, []
    for fan_in, fan_out in targets.values():
        trainable += r * (fan_in + fan_out) + (fan_out if dora else 0)
        shapes += [[r, fan_in], [fan_out, r]] + ([[fan_out]] if dora else [])
    # peft matches modules_to_save by plain suffix ("norm" takes every *layernorm too)
    saved = [m for n, m in model.named_modules()
             if n and any(n.endswith(t) for t in peft["modules_to_save"])]
    for module in saved:  # a trainable copy of each (of tied weights too)
        for p in module.parameters():
            trainable += p.numel()
            shapes.append(list(p.shape))
    adapter = {"kind": peft["kind"], "r": r, "modules": len(targets),
               "modules_to_save": len(saved)}
    return {**facts, "trainable": trainable, "trainable_shapes": shapes, "quantized": quantized,
            "adapter": adapter, "notes": notes}


def main(argv: list[str] | None = None) -> int:
    from runners.entry import run

    p = argparse.ArgumentParser(prog="python -m runners.plan", description=__doc__.split("\n")[0])
    p.add_argument("specs", nargs="+", metavar="SPEC")
    p.add_argument("--root", type=Path, default=Path("."),
                   help="workspace root (default: the current directory)")
    p.add_argument("--params-dir", type=Path, default=None, metavar="DIR",
                   help="the folder holding the params.yaml to read (default: --root)")
    args = p.parse_args(argv)

    def body() -> None:
        params = load_params(args.params_dir or args.root)
        out = []
        for name in args.specs:
            out.append(model_facts(args.root, params, name))
            if "trainable" not in out[-1]:
                break
        print(json.dumps(out))

    return run(body)


if __name__ == "__main__":
    sys.exit(main())
