"""Stage ``train``: fine-tune or pretrain one spec's model on its prepared data set.

    python -m runners.train <spec-name>      # -> runs/<spec>/{model/, train_log.csv, ...}

Resolves the spec, imports the module that trains its ``train.method`` (by name, from the
method registry, so this stage's code deps hold that method's module only) and hands its
``fit`` to the harness, which seeds, writes the outputs atomically, writes the lineage
record and closes the MLflow run. Under ``accelerate launch`` every process trains and only
rank 0 writes, logs and prints.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

from repro.contract import paths
from repro.contract.methods import method_module
from repro.contract.records import read_manifest
from repro.spec.sections.determinism import Determinism
from repro.spec.sections.model import Model
from repro.spec.sections.tracking import Tracking
from repro.spec.sections.train import Train
from runners import entry, harness
from runners.params import resolve_spec
from runners.training import distributed

STAGE = "train"
SECTIONS = {  # the spec sections this stage reads
    "model": Model,
    "train": Train,
    "tracking": Tracking,
    "determinism": Determinism,
}


def train(
    spec: dict, name: str, root: str | Path = ".", *, command: str | None = None,
    intermediate: dict | None = None,
) -> dict:
    """Train spec ``name`` (``spec`` = its params.yaml entry) in workspace ``root``.

    ``intermediate`` (a sweep trial's): ``{"every": N, "max_examples": M, "report": f}``,
    validation loss every N steps, passed to ``f(step, value)`` and written to the train log.

    Returns the train metrics (also written to runs/<name>/train_metrics.json).
    """
    root = Path(root)
    s = resolve_spec(spec, name, SECTIONS)
    t = s["train"]
    method = importlib.import_module(method_module(t["method"]))
    manifest = read_manifest(root / paths.data_dir(s["data"]))
    dist = distributed.setup(bool((t.get("distributed") or {}).get("cpu")))
    return harness.run(STAGE, spec, s, name, root, manifest, command, method.fit, dist,
                       intermediate)


def main(argv: list[str] | None = None) -> int:
    return entry.spec_stage_main("train", "Train one spec listed in params.yaml.", train, argv)


if __name__ == "__main__":
    sys.exit(main())
