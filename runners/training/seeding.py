"""Seeding every source of randomness a run touches, and saying what stays non-deterministic.

``seed_everything(seed, full=...)`` pins Python's ``random``, NumPy and torch (CPU and
every CUDA device), and returns a separate ``torch.Generator`` for the data order. The
split seed is the dataset's (prepare stage). Dropout draws from the global torch RNG,
seeded here. ``report()`` describes the last seeding for the lineage record, including
every source of non-determinism that was allowed.
"""

from __future__ import annotations

import os
import random
from typing import Any

CUBLAS_WORKSPACE = ":4096:8"
_last: dict[str, Any] | None = None


def seed_everything(seed: int, full: bool = False, threads: int | None = None):
    """Seed Python, NumPy and torch; return a ``torch.Generator`` for the data order.

    The data-order generator is separate from the global torch RNG, so adding or
    removing a random layer (say, LoRA dropout) does not reshuffle the data. With
    ``full``, torch is restricted to deterministic algorithms (an op without one
    raises), cuDNN is made deterministic and cuBLAS gets a fixed workspace. ``threads``
    pins torch's CPU threads (float reductions depend on their number).
    """
    global _last
    import numpy as np
    import torch

    if full:
        # read by cuBLAS when CUDA initialises; harmless on CPU
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", CUBLAS_WORKSPACE)
    if threads:
        torch.set_num_threads(int(threads))
    torch.use_deterministic_algorithms(bool(full))
    if hasattr(torch.backends, "cudnn"):
        torch.backends.cudnn.deterministic = bool(full)
        torch.backends.cudnn.benchmark = False
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)  # also seeds every CUDA device
    g = torch.Generator()
    g.manual_seed(seed)
    _last = {"seed": seed, "full": bool(full), "threads": threads}
    return g


def determinism(spec: dict[str, Any]) -> bool:
    """The spec's ``determinism.full`` (``spec``: resolved, its determinism section validated)."""
    return bool(spec["determinism"]["full"])


def threads(spec: dict[str, Any]) -> int | None:
    """The spec's ``determinism.threads`` (None = torch's default)."""
    return spec["determinism"]["threads"]


def report(dataset_seed: int | None = None) -> dict[str, Any]:
    """Seeds and determinism settings of the last :func:`seed_everything`, for the record."""
    import torch

    seed = _last["seed"] if _last else None
    full = _last["full"] if _last else False
    cuda = torch.cuda.is_available()
    allowed: list[str] = []
    if not full and cuda:
        allowed.append(
            "torch deterministic algorithms off: some CUDA kernels (atomic adds in "
            "scatter/index ops, cuBLAS split reductions) may differ run to run"
        )
    if cuda and os.environ.get("CUBLAS_WORKSPACE_CONFIG") is None:
        allowed.append("CUBLAS_WORKSPACE_CONFIG unset: cuBLAS reductions may differ run to run")
    if os.environ.get("PYTHONHASHSEED") in (None, "random"):
        allowed.append(
            "PYTHONHASHSEED unset: str hashes (and so set iteration order) vary per process; "
            "repro never lets set order reach a result"
        )
    if not (_last and _last.get("threads")):
        allowed.append(
            "intra-op threads not pinned (determinism.threads: null): float reductions can "
            "differ when the machine's core count changes"
        )
    allowed.append(
        "CPU model and instruction set: float kernels can differ between CPUs (the run "
        "record names the CPU; verify compares bitwise on the same hardware only)"
    )
    return {
        "seed": seed,
        "seeds": {
            "python": seed,
            "numpy": None if seed is None else seed % 2**32,
            "torch": seed,
            "cuda": seed if cuda else None,
            "data_order": seed,
            "sampler": seed,
            "dropout": seed,
            "split": dataset_seed,
        },
        "full": full,
        "threads": _last.get("threads") if _last else None,
        "torch_deterministic_algorithms": torch.are_deterministic_algorithms_enabled(),
        "cudnn_deterministic": bool(getattr(torch.backends.cudnn, "deterministic", False)),
        "cudnn_benchmark": bool(getattr(torch.backends.cudnn, "benchmark", False)),
        "cublas_workspace_config": os.environ.get("CUBLAS_WORKSPACE_CONFIG"),
        "pythonhashseed": os.environ.get("PYTHONHASHSEED"),
        "allowed_nondeterminism": allowed,
    }
