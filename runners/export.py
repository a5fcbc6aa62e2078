"""``python -m runners.export SPEC [-o DIR]``: a trained adapter merged into its base, standalone.

``repro export SPEC`` runs this module (default output: ``runs/<spec>/merged/``) and
renders the one line of JSON it prints: ``{"spec", "merged", "out"}``.

LoRA and DoRA updates are folded into the base weights (peft ``merge_and_unload``), so
the result loads with plain ``AutoModelForCausalLM.from_pretrained`` and gives the same
logits as base + adapter. A QLoRA adapter is merged into the full-precision base (the
4-bit copy was only a training-time stand-in for it). A spec that trained a full model
is copied as it is.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path
from typing import Any

from repro.contract import paths
from repro.contract.fsio import atomic_dir
from repro.spec.sections.model import Model
from runners.errors import RunnerError
from runners.models import modeling
from runners.params import load_params, resolve_spec, spec_params

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


def main(argv: list[str] | None = None) -> int:
    from runners.entry import run

    p = argparse.ArgumentParser(prog="python -m runners.export",
                                description=__doc__.split("\n")[0])
    p.add_argument("spec")
    p.add_argument("-o", "--output", metavar="DIR", help="write the model to DIR")
    p.add_argument("--root", type=Path, default=Path("."),
                   help="workspace root (default: the current directory)")
    p.add_argument("--params-dir", type=Path, default=None, metavar="DIR",
                   help="the folder holding the params.yaml to read (default: --root)")
    args = p.parse_args(argv)

    def body() -> None:
        spec = spec_params(load_params(args.params_dir or args.root), args.spec)
        print(json.dumps(export(spec, args.spec, args.root, args.output)))

    return run(body)


if __name__ == "__main__":
    sys.exit(main())
