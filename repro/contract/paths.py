"""Where every stage reads and writes, relative to the workspace root.

Shared by the compiler (which lists these as DVC deps and outs) and the
runners (which write them), so the two can never disagree.
"""

from __future__ import annotations

from pathlib import PurePosixPath as P

PARAMS_FILE = "params.yaml"
DVC_FILE = "dvc.yaml"
DVC_LOCK = "dvc.lock"
SPECS_DIR = "specs"
ENV_LOCK = "env.lock"  # the installed packages, a dependency of every stage (repro/contract/envlock.py)
RUNS = P("runs")
DATA_ROOT = RUNS / "_data"

# files inside a prepared dataset directory
SPLIT_FILES = {"train": "train.jsonl", "validation": "validation.jsonl", "test": "test.jsonl"}
TOKENIZER_DIR = "tokenizer"
DATA_MANIFEST = "manifest.json"

# files inside runs/<spec>/
MODEL_DIR = "model"
TRAIN_LOG = "train_log.csv"
TRAIN_METRICS = "train_metrics.json"
TRAIN_LINEAGE = "train.lineage.json"
METRICS = "metrics.json"
GATES = "gates.json"  # regression gate results (runners/scoring/gates.py)
EVAL_LINEAGE = "evaluate.lineage.json"
# the per-execution part of a stage's record (times, git state, hardware, MLflow run):
# written next to the lineage record but not a DVC out, so it never reaches dvc.lock
TRAIN_RUN = "train.run.json"
EVAL_RUN = "evaluate.run.json"
# inside a prepared dataset directory: the prepare stage's lineage record
DATA_LINEAGE = "lineage.json"


def lineage_file(stage: str) -> str:
    return {"train": TRAIN_LINEAGE, "evaluate": EVAL_LINEAGE}[stage]


def run_file(stage: str) -> str:
    return {"train": TRAIN_RUN, "evaluate": EVAL_RUN}[stage]
# not a DVC output (DVC would delete it before the re-run that needs it); git-ignored under runs/
CHECKPOINTS_DIR = "checkpoints"


def data_dir(key: str) -> P:
    return DATA_ROOT / key


def spec_dir(name: str) -> P:
    return RUNS / name


def model_dir(name: str) -> P:
    return spec_dir(name) / MODEL_DIR
