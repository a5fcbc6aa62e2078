"""A workspace with a 3-spec human-evaluation sheet built from fixed answers (no models)."""

from __future__ import annotations

from pathlib import Path

from repro.human.ops import write_sheet
from repro.human.sheet import build
from tests.specs import spec, write_specs

SYSTEMS = ("sft-a", "sft-b", "sft-c")
PROMPTS = [{"index": i, "prompt": f"{i}+{i}", "reference": str(2 * i)} for i in range(4)]
# sft-a is always right, sft-b right on two prompts of four, sft-c never
OUTPUTS = {"sft-a": [str(2 * i) for i in range(4)],
           "sft-b": ["0", "99", "4", "99"],
           "sft-c": ["??"] * 4}
MODELS = {s: {"path": f"runs/{s}/model", "sha256": None, "record": None} for s in SYSTEMS}


def make_workspace(root: Path, sheet: bool = True) -> Path:
    sft = spec("sft", {"model.base": {"spec": "pre"}})
    write_specs(root, {
        "pre": spec("pretrain"),
        "sft-a": spec(sft, human_eval={"against": ["sft-b", "sft-c"], "sheet": "human/abc",
                                       "prompts": 4, "seed": 3, "bootstrap": 20}),
        "sft-b": sft, "sft-c": sft,
    })
    if sheet:
        write_sheet(root / "human" / "abc", build("sft-a", 3, "test", PROMPTS, OUTPUTS, MODELS))
    return root
