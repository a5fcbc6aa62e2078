"""LoRA, DoRA and QLoRA adapters (peft), and the gate that keeps bitsandbytes unloaded unless used.

Why the gate: bitsandbytes is installed for QLoRA and 8-bit AdamW, and peft imports it
whenever it is installed (``peft/helpers.py`` tries ``import bitsandbytes`` at import time,
and LoRA's layer dispatch imports ``peft.tuners.lora.bnb`` when
``peft.import_utils.is_bnb_available()``, an ``importlib.util.find_spec`` probe, says yes).
That costs 1-4 s per process and prints two lines about a missing ``kernels`` package, for
every LoRA, DoRA or TRL stage, although none of them touches a quantized layer.

How: ``sys.modules["bitsandbytes"] = None`` is Python's documented way to make a module
unimportable: ``import bitsandbytes`` raises ImportError and ``importlib.util.find_spec``
returns None, so peft and transformers both see it as not installed. It is safe exactly while
bitsandbytes is not loaded: no quantized layer or 8-bit optimizer can exist before the module
that defines them is imported, so peft's dispatch has nothing to find. The probes that cache
their answer (peft's ``is_bnb_available``/``is_bnb_4bit_available``, transformers'
``is_bitsandbytes_available``) are cleared whenever the gate opens or closes, so a process
that first trains a LoRA and later a QLoRA (a sweep calling stages in-process) sees
bitsandbytes again. Whatever needs bitsandbytes imports it through ``import_bitsandbytes``,
which opens the gate for good.
"""

from __future__ import annotations

import contextlib
import sys
import warnings
from collections.abc import Iterator
from typing import Any

from runners.errors import RunnerError

BNB = "bitsandbytes"


def _no_kernels_notice(record) -> bool:
    """bitsandbytes logs, on every import, that the optional ``kernels`` package (a faster
    4-bit CPU matmul from the Hub) is missing: it falls back to its own, and the line says
    nothing the user can act on here. Dropped; every other bitsandbytes message is kept."""
    return "pip install kernels" not in str(record.msg)


def _quiet_bitsandbytes() -> None:
    import logging

    logger = logging.getLogger("bitsandbytes.backends.cpu.ops")
    if _no_kernels_notice not in logger.filters:
        logger.addFilter(_no_kernels_notice)


_quiet_bitsandbytes()
# (module, function) pairs that cache whether bitsandbytes is installed
_PROBES = (
    ("peft.import_utils", "is_bnb_available"),
    ("peft.import_utils", "is_bnb_4bit_available"),
    ("transformers.utils.import_utils", "is_bitsandbytes_available"),
)


def needs_bitsandbytes(spec: dict[str, Any], stage: str = "train") -> bool:
    """Whether the ``stage`` of ``spec`` (a params.yaml entry) uses bitsandbytes: a QLoRA
    base loaded in 4 bits or 8-bit AdamW, both in training only (evaluation loads an
    adapter's base in full precision)."""
    if stage != "train":
        return False
    t = spec.get("train") or {}
    return ((t.get("peft") or {}).get("kind") == "qlora"
            or (t.get("optimizer") or {}).get("name") == "adamw_8bit")


def hide_bitsandbytes() -> bool:
    """Make bitsandbytes look not installed for this process until ``import_bitsandbytes``;
    a no-op (False) once it is loaded."""
    if BNB in sys.modules:
        return sys.modules[BNB] is None
    sys.modules[BNB] = None
    _clear_probes()
    return True


def _unhide() -> None:
    if BNB in sys.modules and sys.modules[BNB] is None:
        del sys.modules[BNB]
        _clear_probes()


@contextlib.contextmanager
def bitsandbytes_hidden() -> Iterator[None]:
    """bitsandbytes looks not installed inside the block, unless it is already loaded."""
    mine = BNB not in sys.modules and hide_bitsandbytes()
    try:
        yield
    finally:
        if mine:
            _unhide()


def import_bitsandbytes(field: str):
    """The bitsandbytes module (opening the gate); a RunnerError naming ``field`` without it."""
    _unhide()
    try:
        import bitsandbytes
    except ImportError:
        raise RunnerError(f"{field} needs bitsandbytes (pip install bitsandbytes)") from None
    _clear_probes()
    return bitsandbytes


def _clear_probes() -> None:
    for module, name in _PROBES:
        probe = getattr(sys.modules.get(module), name, None)
        if hasattr(probe, "cache_clear"):
            probe.cache_clear()


def quantization_config(peft: dict[str, Any]):
    """The BitsAndBytesConfig of a QLoRA section: a 4-bit base (nf4 by default)."""
    import_bitsandbytes("train.peft.kind: qlora")
    import torch
    from transformers import BitsAndBytesConfig

    compute = torch.bfloat16 if peft.get("compute_dtype") == "bf16" else torch.float32
    return BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type=peft.get("quant_type", "nf4"),
        bnb_4bit_use_double_quant=bool(peft.get("double_quant", True)),
        bnb_4bit_compute_dtype=compute,
        bnb_4bit_quant_storage=torch.uint8,
    )


def release_checkpoint_file(model) -> None:
    """Copy the tensors that still view the memory-mapped checkpoint into memory.

    After a 4-bit load the layers that stay in full precision (embeddings, norms, the
    head) are views of the mmapped safetensors file, which keeps the whole file mapped,
    fp32 weights of the quantized layers included (they were read to quantize them).
    Copying those few tensors lets the mapping go: most of QLoRA's memory saving.
    """
    import gc

    import torch

    with torch.no_grad():
        for module in model.modules():
            for param in module.parameters(recurse=False):
                if param.dtype.is_floating_point:
                    param.data = param.data.clone()
            for key, buf in module.named_buffers(recurse=False):
                if buf is not None and buf.dtype.is_floating_point:
                    module._buffers[key] = buf.clone()
    gc.collect()


def enable_gradient_checkpointing(model) -> None:
    """Recompute activations in backward (non-reentrant: works with frozen inputs and LoRA)."""
    if not getattr(model, "supports_gradient_checkpointing", False):
        raise RunnerError(
            f"train.gradient_checkpointing: {type(model).__name__} does not support it"
        )
    model.activation_checkpointing_enable(activation_checkpointing_kwargs={"use_reentrant": False})
    model.config.use_cache = False


def add_adapter(model, peft: dict[str, Any], gradient_checkpointing: bool = False):
    """Wrap ``model`` with a LoRA, DoRA or QLoRA adapter (peft) as the spec says."""
    with bitsandbytes_hidden():  # a no-op for QLoRA, whose 4-bit base loaded it
        from peft import LoraConfig, get_peft_model

        if peft["kind"] == "qlora":
            from peft import prepare_model_for_kbit_training

            model = prepare_model_for_kbit_training(
                model,
                use_gradient_checkpointing=gradient_checkpointing,
                gradient_checkpointing_kwargs={"use_reentrant": False},
            )
        elif gradient_checkpointing:
            enable_gradient_checkpointing(model)
        config = LoraConfig(
            r=int(peft["r"]),
            lora_alpha=peft["alpha"],
            lora_dropout=float(peft["dropout"]),
            target_modules=list(peft["target_modules"]),
            modules_to_save=list(peft.get("modules_to_save") or []) or None,
            use_dora=peft["kind"] == "dora",
            bias="none",
            task_type="CAUSAL_LM",
        )
        try:
            with peft_quiet():
                return get_peft_model(model, config)
        except ValueError as e:
            raise RunnerError(f"train.peft: {first_line(e)}") from None


def load_adapter(base, adapter_dir: str):
    """``base`` (full precision) with the trained adapter in ``adapter_dir`` on top."""
    with bitsandbytes_hidden():
        from peft import PeftModel

        with peft_quiet():
            return PeftModel.from_pretrained(base, adapter_dir)


@contextlib.contextmanager
def peft_quiet() -> Iterator[None]:
    """peft 0.21 probes a property that transformers 5 deprecated; hide that FutureWarning."""
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning
        )
        yield


def first_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__
