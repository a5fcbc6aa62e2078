"""Resumable training: checkpoints every N steps, written atomically, the last K kept.

A checkpoint is a directory ``runs/<spec>/checkpoints/step-00000040/`` holding
``state.pt`` (the trainable weights, optimizer, scheduler, gradient scaler, every RNG
state, the data position and the loop's own counters) and ``meta.json`` (step and
fingerprint). It is written into a temporary sibling and renamed into place, so a
run killed mid-write leaves the previous checkpoint intact and a stray ``.tmp``
directory that the next run removes.

The directory is deliberately not a DVC output: DVC deletes a stage's outputs before
running it again, which would throw away exactly what a resumed run needs. It lives
under ``runs/`` (git-ignored) and is deleted once the stage has written its outputs,
unless the spec keeps it.

A checkpoint resumes only a run with the same fingerprint (spec hash, data hash,
runner code and package versions); any other is discarded with a message.
"""

from __future__ import annotations

import random
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from repro.contract.fsio import atomic_dir, read_json, write_json_atomic

STATE_FILE = "state.pt"
META_FILE = "meta.json"
_NAME = re.compile(r"^step-(\d{8})$")


def rng_state() -> dict[str, Any]:
    import numpy as np
    import torch

    state = {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    import numpy as np
    import torch

    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


class Checkpoints:
    """The checkpoint directory of one train stage."""

    def __init__(
        self,
        directory: Path,
        every: int,
        keep: int,
        fingerprint: str,
        say: Callable[[str], None] = print,
    ) -> None:
        self.directory = Path(directory)
        self.every = int(every)
        self.keep = int(keep)
        self.fingerprint = fingerprint
        self.say = say

    @staticmethod
    def step_of(path: Path) -> int | None:
        m = _NAME.match(path.name)
        return int(m.group(1)) if m else None

    def complete(self) -> list[Path]:
        """Finished checkpoints, oldest first (a directory is complete once renamed)."""
        if not self.directory.is_dir():
            return []
        found = [p for p in self.directory.iterdir() if p.is_dir() and self.step_of(p) is not None]
        found = [p for p in found if (p / META_FILE).is_file() and (p / STATE_FILE).is_file()]
        return sorted(found, key=lambda p: self.step_of(p))

    def latest(self, clean: bool = True) -> Path | None:
        """The newest usable checkpoint. With ``clean`` (one process only), also remove
        leftovers of interrupted writes and checkpoints of a different run (another spec,
        data set, code or environment)."""
        if not self.directory.is_dir():
            return None
        for p in self.directory.iterdir() if clean else ():
            if p.name.startswith(".") and (p.name.endswith(".tmp") or ".old-" in p.name):
                shutil.rmtree(p, ignore_errors=True)
        found = self.complete()
        if not found:
            return None
        meta = read_json(found[-1] / META_FILE)
        if meta.get("fingerprint") != self.fingerprint:
            if clean:
                self.say(
                    f"discarding {len(found)} checkpoint(s) in {self.directory.name}/: written "
                    "by a run with a different spec, data, code or environment"
                )
                self.clear()
            return None
        return found[-1]

    def due(self, step: int, total: int) -> bool:
        return step % self.every == 0 and step < total

    def save(self, step: int, state: dict[str, Any]) -> Path:
        import torch

        target = self.directory / f"step-{step:08d}"
        with atomic_dir(target) as tmp:
            torch.save(state, tmp / STATE_FILE)
            write_json_atomic(tmp / META_FILE, {"step": step, "fingerprint": self.fingerprint})
        for old in self.complete()[: -self.keep]:
            shutil.rmtree(old, ignore_errors=True)
        return target

    @staticmethod
    def load(path: Path) -> dict[str, Any]:
        import torch

        # our own file, written by this stage in this workspace (it holds RNG tuples
        # and NumPy arrays, which the weights-only unpickler refuses)
        return torch.load(path / STATE_FILE, map_location="cpu", weights_only=False)

    def clear(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)
