"""Which runner module trains each ``train.method``, and so which source files a stage runs.

The compiler lists a train stage's code deps from ``stage_modules`` and the runners hash
the same files into the lineage record; ``runners.train`` imports the method's module by
name, so the train stage of a LoRA spec never depends on the GRPO module, and the reverse.
"""

from __future__ import annotations

METHOD_MODULES = {
    "pretrain": "runners.methods.loop",
    "sft": "runners.methods.loop",
    "trl-sft": "runners.methods.sft_trl",
    "dpo": "runners.methods.dpo",
    "reward": "runners.methods.reward",
    "grpo": "runners.methods.grpo",
    "rloo": "runners.methods.rloo",
    "kto": "runners.methods.kto",
    "orpo": "runners.methods.orpo",
    "distill": "runners.methods.distill",
}
STAGES = ("prepare", "train", "evaluate", "human_eval", "search")
ENTRY = {"search": "runners.search.worker"}  # a stage whose entry module is not runners.<stage>


def method_module(method: str) -> str:
    """The module whose ``fit`` trains ``method`` (KeyError for an unknown method)."""
    return METHOD_MODULES[method]


def stage_modules(stage: str, method: str | None = None) -> list[str]:
    """The entry modules of a stage: ``runners.<stage>``, plus the method's for ``train``
    and for ``search`` (whose trials train in-process)."""
    if stage not in STAGES:
        raise ValueError(f"unknown stage {stage!r}")
    modules = [ENTRY.get(stage, f"runners.{stage}")]
    if stage in ("train", "search") and method is not None:
        modules.append(method_module(method))
    return modules
