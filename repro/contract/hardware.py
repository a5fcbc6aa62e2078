"""What this machine can run, found cheaply (the control plane imports no torch up front).

``cuda_available()`` first looks for the NVIDIA driver's files; only when they exist does
it import torch to ask (a second or two, paid only by specs that need the answer).
"""

from __future__ import annotations

import functools
from pathlib import Path

NVIDIA_FILES = ("/proc/driver/nvidia/version", "/dev/nvidiactl", "/dev/nvidia0")


def nvidia_driver() -> bool:
    """Whether the NVIDIA driver's files are here (no import, no CUDA call)."""
    return any(Path(p).exists() for p in NVIDIA_FILES)


@functools.cache
def cuda_available() -> bool:
    if not nvidia_driver():
        return False
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())
