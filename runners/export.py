"""``repro export SPEC``: a trained adapter merged into its base, saved as a standalone model
(default: ``runs/<spec>/merged/``).

LoRA and DoRA updates are folded into the base weights (peft ``merge_and_unload``), so
the result loads with plain ``AutoModelForCausalLM.from_pretrained`` and gives the same
logits as base + adapter. A QLoRA adapter is merged into the full-precision base (the
4-bit copy was only a training-time stand-in for it). A spec that trained a full model
is copied as it is.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from repro.contract import paths
from repro.contract.fsio import atomic_dir
from repro.spec.sections.model import Model
from runners.errors import RunnerError
from runners.models import modeling
from runners.params import resolve_spec

MERGED_DIR = "merged"


def export(spec: dict[str, Any], name: str, root: str | Path = ".", out: str | Path | None = None
           ) -> dict[str, Any]:
    """Write spec ``name``'s model as a standalone model directory; returns a summary."""
    root = Path(root)
    s = resolve_spec(spec, name, {"model": Model})
    model_dir = root / paths.model_dir(name)
    target = Path(out) if out is not None else root / paths.spec_dir(name) / MERGED_DIR
    if not model_dir.is_dir():
        raise RunnerError(f"{paths.model_dir(name)}: not found (run the train stage first)")
    adapter = modeling.is_adapter(model_dir)
    with atomic_dir(target) as tmp:
        if not adapter:
            shutil.copytree(model_dir, tmp, dirs_exist_ok=True)
        else:
            model, tokenizer = modeling.load_trained(s, name, root)
            merged = model.merge_and_unload()
            merged.config._name_or_path = ""
            merged.save_pretrained(str(tmp))
            tokenizer.save_pretrained(str(tmp))
    return {"spec": name, "merged": adapter, "out": str(target)}
