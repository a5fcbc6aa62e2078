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
# the human-evaluation stage of a spec with a human_eval section
HUMAN_METRICS = "human_eval.json"
HUMAN_LINEAGE = "human_eval.lineage.json"
HUMAN_RUN = "human_eval.run.json"


def lineage_file(stage: str) -> str:
    return {"train": TRAIN_LINEAGE, "evaluate": EVAL_LINEAGE, "human_eval": HUMAN_LINEAGE}[stage]


def run_file(stage: str) -> str:
    return {"train": TRAIN_RUN, "evaluate": EVAL_RUN, "human_eval": HUMAN_RUN}[stage]
# not a DVC output (DVC would delete it before the re-run that needs it); git-ignored under runs/
CHECKPOINTS_DIR = "checkpoints"


def data_dir(key: str) -> P:
    return DATA_ROOT / key


def spec_dir(name: str) -> P:
    return RUNS / name


def model_dir(name: str) -> P:
    return spec_dir(name) / MODEL_DIR


# ----------------------------------------------------------------------------- confinement
# Every path a spec names (extends, data.source.path, model.base.path, an accelerate config,
# a local tracking store) must lie inside the workspace, symlinks resolved. Data that lives
# elsewhere is reached only through a named entry of WORKSPACE_CONFIG with a pinned hash,
# written in a spec as ``external:NAME``. The compiler, `repro pin` and every stage apply
# the same rule through these functions.

WORKSPACE_CONFIG = "repro.yaml"
EXTERNAL_PREFIX = "external:"
CONFINE_HINT = (
    "paths are relative to the workspace root and must stay inside it; to read data kept "
    f"elsewhere, name it under external_data in {WORKSPACE_CONFIG} with its hash and write "
    f"path: {EXTERNAL_PREFIX}NAME (see docs/confinement.md)"
)


class PathRefused(ValueError):
    """A path a spec names is not allowed (outside the workspace, or a bad external entry)."""

    def __init__(self, message: str, hint: str = CONFINE_HINT) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


def confine(root, rel: str):
    """``rel`` (relative to ``root``) as a resolved ``Path`` inside ``root``, or PathRefused.

    The check is lexical first (``..`` and absolute paths), so a path that leaves the
    workspace by name is refused without touching the file system; then symlinks are
    resolved, so a link inside the workspace cannot lead out of it."""
    import os
    from pathlib import Path

    top = Path(root).resolve()
    text = str(rel)
    if "\x00" in text:
        raise PathRefused(f"'{text!r}' holds a NUL character")
    given = Path(text).expanduser() if text.startswith("~") else Path(text)
    lexical = Path(os.path.normpath(given if given.is_absolute() else top / given))
    if not lexical.is_relative_to(top):
        why = "an absolute path" if given.is_absolute() or text.startswith("~") else (
            "it leaves the workspace through '..'")
        raise PathRefused(f"'{text}' is outside the workspace ({why})")
    try:
        real = lexical.resolve()
    except (OSError, RuntimeError) as e:  # a symlink loop
        raise PathRefused(f"'{text}' cannot be resolved ({type(e).__name__})") from None
    if not real.is_relative_to(top):
        raise PathRefused(f"'{text}' is outside the workspace (a symlink leads to {real})")
    return real


def external_entry(root, name: str) -> dict:
    """The ``external_data`` entry ``name`` of the workspace config: ``{path, hash}``."""
    import re
    from pathlib import Path

    config = Path(root) / WORKSPACE_CONFIG
    how = (f"add it to {WORKSPACE_CONFIG}: external_data: {{{name or 'NAME'}: "
           "{path: /abs/path, hash: blake3:...}} (see docs/confinement.md)")
    if not config.is_file():
        raise PathRefused(f"'{EXTERNAL_PREFIX}{name}': this workspace has no "
                          f"{WORKSPACE_CONFIG}", how)
    try:
        from ruamel.yaml import YAML

        doc = YAML(typ="safe", pure=True).load(config.read_text(encoding="utf-8"))
    except Exception as e:  # noqa: BLE001 - any YAML or decoding error: say which file
        raise PathRefused(f"{WORKSPACE_CONFIG}: not valid YAML ({type(e).__name__})",
                          "fix the file") from None
    table = doc.get("external_data") if isinstance(doc, dict) else None
    entry = table.get(name) if isinstance(table, dict) else None
    if not isinstance(entry, dict):
        raise PathRefused(f"'{EXTERNAL_PREFIX}{name}' is not named under external_data in "
                          f"{WORKSPACE_CONFIG}", how)
    path, pinned = entry.get("path"), entry.get("hash")
    if not isinstance(path, str) or not Path(path).is_absolute():
        raise PathRefused(f"{WORKSPACE_CONFIG}: external_data.{name}.path must be an "
                          f"absolute path (got {path!r})", how)
    if not isinstance(pinned, str) or not re.fullmatch(r"blake3:[0-9a-f]{64}", pinned):
        raise PathRefused(
            f"{WORKSPACE_CONFIG}: external_data.{name} has no pinned hash (got {pinned!r})",
            f"external data is read only with a pinned hash: run 'repro pin --external {name}' "
            "and copy the hash it prints into the entry")
    return {"path": path, "hash": pinned}


def spec_path(root, rel: str):
    """Where a path a spec names lives on this machine: inside the workspace, or a named
    external entry (``external:NAME``). Raises PathRefused."""
    from pathlib import Path

    if str(rel).startswith(EXTERNAL_PREFIX):
        return Path(external_entry(root, str(rel)[len(EXTERNAL_PREFIX):])["path"])
    return confine(root, rel)
