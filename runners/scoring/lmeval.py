"""The lm-eval adapter: real lm-evaluation-harness 0.4.13 runs a spec's task files on its model.

``TaskManager(include_path=<the task files' folders>, include_defaults=False)`` indexes only
those (milliseconds, where the default index of ~15,000 tasks takes 12 s); ``simple_evaluate``
runs them on an ``HFLM`` wrapping the stage's loaded model (``HFLM(pretrained=<local dir>)``
loads the same weights from disk). Results come back in repro's shape: ``{task: {acc,
acc_stderr, ..., n, num_fewshot}}``.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any


def hflm(model, tokenizer, batch_size: int):
    """An HFLM over an already-loaded model (a peft model: its base, adapters applied)."""
    import transformers
    from lm_eval.models.huggingface import HFLM

    if not isinstance(model, transformers.PreTrainedModel) and hasattr(model, "get_base_model"):
        model = model.get_base_model()
    return HFLM(pretrained=model, tokenizer=tokenizer, batch_size=batch_size, device="cpu")


def convert(results: dict[str, Any], name: str) -> dict[str, Any]:
    """lm-eval's ``{"acc,none": .., "acc_stderr,none": ..}`` -> ``{"acc": .., "acc_stderr": ..}``."""
    out: dict[str, Any] = {}
    for key, value in results["results"][name].items():
        metric, _, _filter = key.partition(",")
        if isinstance(value, int | float) and metric not in ("alias", "sample_len"):
            out[metric] = round(float(value), 6)
    out["n"] = int(results["n-samples"][name]["effective"])
    out["num_fewshot"] = int(results["n-shot"][name])
    return out


def run_lm_eval(model, tokenizer, root: Path, tasks: list[dict[str, Any]], *, seed: int,
                boot: dict[str, int], batch_size: int, lm=None) -> dict[str, Any]:
    from lm_eval import simple_evaluate
    from lm_eval.tasks import TaskManager

    from repro.spec.tasks import load_task

    root = Path(root).resolve()
    lm = lm or hflm(model, tokenizer, batch_size)
    out: dict[str, Any] = {}
    for t in tasks:
        task = load_task(root, t["path"])
        manager = TaskManager(include_path=[str((root / t["path"]).parent)],
                              include_defaults=False)
        with contextlib.chdir(root):  # data_files are relative to the workspace root
            res = simple_evaluate(
                model=lm, tasks=[task.task], task_manager=manager,
                num_fewshot=t.get("num_fewshot"), limit=t.get("limit"),
                bootstrap_iters=int(boot["iters"]), random_seed=seed, numpy_random_seed=seed,
                torch_random_seed=seed, fewshot_random_seed=seed, log_samples=False,
            )
        out[task.task] = convert(res, task.task)
    return out
