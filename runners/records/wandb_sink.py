"""W&B as an optional second sink (``tracking.wandb``): the same params, metrics and tags.

Imported and used only in the tracking process, and only when a spec turns it on: wandb is
never required (``pip install wandb`` or the ``wandb`` extra). Offline by default
(``WANDB_MODE=offline``, runs written under ``<workspace>/.repro/wandb``; ``wandb sync``
uploads them later); ``mode: online`` logs to the server in ``WANDB_BASE_URL`` with the
key in ``WANDB_API_KEY``, never a key in the spec.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

WANDB_DIR = Path(".repro") / "wandb"


class WandbSink:
    """One W&B run per stage, grouped by spec (``group``) and typed by stage (``job_type``)."""

    def __init__(self, section: dict[str, Any], root: Path, name: str, stage: str,
                 params: dict[str, str], tags: dict[str, str]) -> None:
        try:
            import wandb
        except ImportError:
            raise RuntimeError(
                "tracking.wandb is set but wandb is not installed (pip install 'repro[wandb]')"
            ) from None
        mode = section.get("mode") or "offline"
        os.environ.setdefault("WANDB_MODE", mode)
        os.environ.setdefault("WANDB_SILENT", "true")
        os.environ.setdefault("WANDB_DISABLE_GIT", "true")
        directory = root / WANDB_DIR
        directory.mkdir(parents=True, exist_ok=True)
        short = [f"{k.removeprefix('repro.')}:{v}"[:64] for k, v in sorted(tags.items())
                 if k.startswith("repro.")]
        self.run = wandb.init(
            project=section.get("project") or "repro", entity=section.get("entity"),
            name=f"{name}/{stage}", group=name, job_type=stage, dir=str(directory),
            mode=os.environ["WANDB_MODE"], config={**params, **tags}, tags=short,
            reinit="create_new",
        )

    def metrics(self, metrics: dict[str, float], step: int) -> None:
        self.run.log(metrics, step=step)

    def summary(self, metrics: dict[str, float]) -> None:
        self.run.summary.update(metrics)

    def finish(self, failed: bool) -> None:
        self.run.finish(exit_code=1 if failed else 0)

    @property
    def directory(self) -> str:
        return str(self.run.dir)
