"""Numeric precision of a training run: fp32, bf16 autocast (CPU or GPU), fp16 (CUDA only).

bf16 runs the forward pass under ``torch.autocast`` while the weights, gradients and
optimizer state stay in fp32; fp16 adds a gradient scaler against underflow and needs
CUDA (CPU autocast has no fp16 matmuls worth having), so it is refused elsewhere.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

from runners.errors import RunnerError

PRECISIONS = ("fp32", "bf16", "fp16")


@dataclass
class Precision:
    name: str
    device: str  # "cpu" or "cuda"
    scaler: Any = None  # torch.amp.GradScaler for fp16

    def autocast(self):
        import torch

        if self.name == "fp32":
            return contextlib.nullcontext()
        dtype = torch.bfloat16 if self.name == "bf16" else torch.float16
        return torch.autocast(device_type=self.device, dtype=dtype)

    def backward(self, loss) -> None:
        (self.scaler.scale(loss) if self.scaler is not None else loss).backward()

    def unscale(self, optimizer) -> None:
        """Before clipping: gradients back in their true scale."""
        if self.scaler is not None:
            self.scaler.unscale_(optimizer)

    def step(self, optimizer) -> None:
        if self.scaler is None:
            optimizer.step()
            return
        self.scaler.step(optimizer)
        self.scaler.update()

    def state_dict(self) -> dict[str, Any]:
        return {} if self.scaler is None else self.scaler.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if self.scaler is not None and state:
            self.scaler.load_state_dict(state)


def cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()


def setup(name: str, device: str) -> Precision:
    """The precision ``name`` on ``device``; fp16 without CUDA is a RunnerError."""
    import torch

    if name not in PRECISIONS:
        raise RunnerError(f"train.precision: unknown value {name!r} (expected fp32, bf16, fp16)")
    if name == "fp16":
        if device != "cuda":
            raise RunnerError(
                "train.precision: fp16 needs a CUDA GPU and this machine has none "
                "(use bf16, which autocasts on CPU too, or fp32)"
            )
        return Precision(name, device, torch.amp.GradScaler("cuda"))
    return Precision(name, device)
