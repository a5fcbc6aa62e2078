"""One process or many: the train loop's view of ``accelerate launch``.

Under ``accelerate launch`` (WORLD_SIZE > 1) the model and optimizer go through
``Accelerator.prepare`` (DDP by default; FSDP or DeepSpeed when the accelerate config
file says so), each process takes its own slice of every global batch, losses are
averaged across processes for the log, and only rank 0 writes files, logs to MLflow
and prints. With one process nothing here touches the model.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from typing import Any


@dataclass
class Dist:
    rank: int = 0
    world: int = 1
    accelerator: Any = None

    @property
    def main(self) -> bool:
        return self.rank == 0

    @property
    def device(self) -> str:
        if self.accelerator is not None:
            return str(self.accelerator.device)
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"

    @property
    def sharded(self) -> bool:
        """True when weights or optimizer state are split across processes (FSDP, DeepSpeed)."""
        if self.accelerator is None:
            return False
        from accelerate.utils import DistributedType

        return self.accelerator.distributed_type in (DistributedType.FSDP, DistributedType.DEEPSPEED)

    def prepare(self, model, optimizer):
        if self.accelerator is None:
            return model, optimizer
        return self.accelerator.prepare(model, optimizer)

    def unwrap(self, model):
        return model if self.accelerator is None else self.accelerator.unwrap_model(model)

    def no_sync(self, model):
        """Skip the gradient all-reduce (for all but the last micro-batch of a step)."""
        if self.accelerator is None:
            return contextlib.nullcontext()
        return self.accelerator.no_sync(model)

    def mean(self, value: float) -> float:
        if self.accelerator is None:
            return value
        import torch

        t = torch.tensor([value], dtype=torch.float64, device=self.accelerator.device)
        return float(self.accelerator.reduce(t, reduction="mean").item())

    def sum(self, value: int) -> int:
        if self.accelerator is None:
            return value
        import torch

        t = torch.tensor([value], dtype=torch.long, device=self.accelerator.device)
        return int(self.accelerator.reduce(t, reduction="sum").item())

    def barrier(self) -> None:
        if self.accelerator is not None:
            self.accelerator.wait_for_everyone()

    def end(self) -> None:
        if self.accelerator is not None:
            self.accelerator.end_training()


def setup(cpu: bool = False) -> Dist:
    """A Dist for this process: many when launched by ``accelerate launch``, else one.

    On a machine without CUDA, or with ``cpu``, the processes run on CPU over gloo.
    """
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return Dist()
    import torch
    from accelerate import Accelerator

    acc = Accelerator(cpu=cpu or not torch.cuda.is_available())
    return Dist(acc.process_index, acc.num_processes, acc)
