"""Lineage records: what went into a stage's result, written next to it as JSON.

Each stage writes two files, split by one rule: **the lineage record is a pure function
of the stage's inputs and outputs**, so two clean builds write identical bytes and it
can be a DVC out without churning ``dvc.lock``; everything about one particular
execution goes to the **run record**, which is not a DVC out.

The shapes are the models of ``repro.contract.records`` (versions there); this module
gathers the facts and writes them.

``runs/<spec>/<stage>.lineage.json`` (DVC out, :class:`StageLineage`):
  the resolved spec (secrets redacted) and its hash; the content hash of every input
  (raw and prepared data, tokenizer, base model, the trained model for evaluate), each
  with a pointer (path + sha256) to the record that produced it, so ancestry can be
  walked; code (sha256 of every runner and repro source file the stage runs: the files
  the compiler lists as its deps);
  environment (Python, platform and the full package list from ``env.lock``, a stage
  dependency, with its hash); seeds and determinism settings, naming what
  non-determinism was allowed; the command; the hash of every output.

``runs/<spec>/<stage>.run.json`` (not tracked, :class:`RunRecord`; points at the lineage
record by hash):
  start, end and duration; git commit, dirty flag and a hash of the uncommitted diff;
  hardware (CPU, GPUs, driver, device count, threads); relevant environment variables
  (redacted); installed packages that drift from ``env.lock``; the MLflow run.

The prepare stage writes ``runs/_data/<key>/lineage.json`` (:class:`PrepareLineage`) inside
its output.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from repro.contract import envlock, paths
from repro.contract.fsio import canonical_json
from repro.contract.git import git_info  # noqa: F401 - the harness notes git state through here
from repro.contract.hashing import sha256_dir, sha256_file, sha256_text
from repro.contract.records import FileRef, Manifest, PrepareLineage, RunRecord, StageLineage
from repro.contract.secrets import redact, redact_environ, scrub

KEY_PACKAGES = (
    "torch",
    "transformers",
    "datasets",
    "peft",
    "trl",
    "accelerate",
    "bitsandbytes",
    "optuna",
    "mlflow",
    "dvc",
    "tokenizers",
    "safetensors",
    "numpy",
)
PROJECT_DIR = Path(__file__).resolve().parents[2]
ENV_VARS = re.compile(
    r"^(PYTHONHASHSEED|CUDA_|CUBLAS_|NVIDIA_|OMP_|MKL_|OPENBLAS_|TOKENIZERS_|HF_|HUGGING_FACE|"
    r"TRANSFORMERS_|TORCH|PYTORCH_|MLFLOW_|ACCELERATE_|NCCL_|WORLD_SIZE|RANK|LOCAL_RANK)"
)


def spec_hash(spec: dict[str, Any], dataset: dict[str, Any]) -> str:
    """sha256 of ``canonical_json({"dataset": <datasets entry>, "spec": <specs entry>})``.

    Both dicts exactly as params.yaml holds them (before runner defaults are filled in).
    """
    return sha256_text(canonical_json({"dataset": dataset, "spec": spec}))


def _manifest(manifest: Manifest | dict[str, Any]) -> Manifest:
    return manifest if isinstance(manifest, Manifest) else Manifest.load(manifest)


def tracking_tags(
    spec: dict[str, Any], manifest: Manifest | dict[str, Any], git: dict[str, Any], stage: str
) -> dict[str, str | None]:
    """The ``repro.*`` tags an MLflow stage run carries."""
    m = _manifest(manifest)
    return {
        "repro.spec_hash": spec_hash(spec, m.dataset),
        "repro.data_hash": m.data_hash,
        "repro.git_commit": git.get("commit"),
        "repro.stage": stage,
    }


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# ----------------------------------------------------------------------------- code


def code(stage: str, method: str | None = None) -> dict[str, Any]:
    """sha256 of every source file the stage runs: the same list the compiler makes its deps.

    Read from the import statements of ``runners.<stage>`` and, for train, the ``method``'s
    module (not from ``sys.modules``, which depends on whatever else the process imported,
    e.g. when a sweep calls stages in-process).
    """
    from repro.contract.codedeps import stage_code

    files = stage_code(PROJECT_DIR, stage, method)
    sources = {f: sha256_file(PROJECT_DIR / f) for f in files}
    return {"sources": sources, "sha256": sha256_text(canonical_json(sources))}


# ----------------------------------------------------------------------------- environment


def environment(root: Path) -> dict[str, Any]:
    """Python, platform and packages as ``env.lock`` (a stage dependency) lists them.

    Without a lock (a stage run outside ``repro``), the installed packages, marked so.
    """
    lock = envlock.read(root)
    if lock is None:
        interp = envlock.interpreter()
        packages, source = envlock.installed(), "installed"
        lock_ref = None
    else:
        interp = {"python": lock["python"], "platform": lock["platform"]}
        packages, source = lock["packages"], paths.ENV_LOCK
        lock_ref = {"path": lock["path"], "sha256": lock["sha256"]}
    return {
        "source": source,
        "lock": lock_ref,
        "python": interp.get("python"),
        "platform": interp.get("platform"),
        "versions": {name: packages.get(name) for name in KEY_PACKAGES},
        "packages": packages,
        "packages_sha256": sha256_text(canonical_json(packages)),
    }


def _cpu_model() -> str | None:
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def _gpu_driver() -> str | None:
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
            capture_output=True, text=True, timeout=10, check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    lines = out.stdout.strip().splitlines()
    return lines[0].strip() if out.returncode == 0 and lines else None


def hardware() -> dict[str, Any]:
    info: dict[str, Any] = {
        "machine": platform.machine(),
        "system": platform.system(),
        "cpu": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "gpus": [],
        "device_count": 0,
        "gpu_driver": None,
        "cuda": None,
        "torch_threads": None,
    }
    torch = sys.modules.get("torch")
    if torch is not None:
        info["torch_threads"] = torch.get_num_threads()
        if torch.cuda.is_available():
            n = torch.cuda.device_count()
            info["device_count"] = n
            info["gpus"] = [torch.cuda.get_device_name(i) for i in range(n)]
            info["cuda"] = torch.version.cuda
            info["gpu_driver"] = _gpu_driver()
    return info


# ----------------------------------------------------------------------------- inputs


def pointer(root: Path, rel: str | Path) -> dict[str, str] | None:
    """``{"path", "sha256"}`` of a record file, or None when it is not there."""
    full = Path(root) / rel
    if not full.is_file():
        return None
    return FileRef(path=Path(rel).as_posix(), sha256=sha256_file(full)).model_dump()


def content_hash(path: Path) -> str | None:
    if path.is_dir():
        return sha256_dir(path)
    if path.is_file():
        return sha256_file(path)
    return None


def data_input(root: Path, key: str, manifest: Manifest | dict[str, Any]) -> dict[str, Any]:
    m = _manifest(manifest)
    d = paths.data_dir(key)
    record = pointer(root, d / paths.DATA_LINEAGE) or pointer(root, d / paths.DATA_MANIFEST)
    return {
        "key": key,
        "path": d.as_posix(),
        "data_hash": m.data_hash,
        "raw_hash": m.raw_hash,
        "source": redact(m.source),
        "record": record,
    }


def base_input(root: Path, base: dict[str, Any], ref: Any) -> dict[str, Any]:
    """The base model: its kind, where it is, its content hash and its record."""
    out: dict[str, Any] = {"kind": ref.kind, "ref": scrub(ref.label), "revision": ref.revision}
    if ref.kind == "config":
        out["sha256"] = sha256_text(canonical_json(base["config"]))
    elif ref.kind in ("spec", "path") and ref.location:
        out["sha256"] = content_hash(Path(ref.location))
    else:  # a hub id: the pinned revision is the identity
        out["sha256"] = None
    if ref.kind == "spec":
        out["spec"] = base["spec"]
        out["record"] = pointer(root, paths.spec_dir(base["spec"]) / paths.TRAIN_LINEAGE)
    return out


def tokenizer_input(root: Path, key: str) -> dict[str, Any]:
    own = paths.data_dir(key) / paths.TOKENIZER_DIR
    if (Path(root) / own).is_dir():
        return {"from": "data", "path": own.as_posix(), "sha256": sha256_dir(Path(root) / own)}
    return {"from": "base model"}


def outputs(root: Path, rels: list[str | Path]) -> dict[str, str | None]:
    return {Path(r).as_posix(): content_hash(Path(root) / r) for r in rels}


# ----------------------------------------------------------------------------- records


def build(
    *,
    stage: str,
    name: str,
    spec: dict[str, Any],
    manifest: Manifest | dict[str, Any],
    root: Path,
    inputs: dict[str, Any],
    outs: list[str | Path],
    command: str | None,
    extra: dict[str, Any] | None = None,
) -> StageLineage:
    """The lineage record (deterministic: no times, hosts or run ids).

    ``extra``: more deterministic facts the record has fields for (``training``, ``trainer``).
    """
    from runners.training import seeding

    dataset = _manifest(manifest).dataset
    return StageLineage(
        stage=stage,
        spec=name,
        command=command,
        spec_hash=spec_hash(spec, dataset),
        params=redact(spec),
        dataset=redact(dataset),
        inputs=inputs,
        code=code(stage, (spec.get("train") or {}).get("method") if stage == "train" else None),
        environment=environment(root),
        determinism=seeding.report(dataset.get("seed")),
        outputs=outputs(root, outs),
        **(extra or {}),
    )


def run_record(
    *,
    stage: str,
    name: str,
    root: Path,
    record_file: Path,
    git: dict[str, Any],
    started: dt.datetime,
    command: str | None,
    environment_: dict[str, Any],
    tracking: dict[str, Any] | None = None,
) -> RunRecord:
    """The per-execution record: when, where, at which commit."""
    ended = now()
    live = envlock.installed()
    return RunRecord(
        stage=stage,
        spec=name,
        record={
            "path": record_file.relative_to(root).as_posix() if record_file.is_relative_to(root)
            else record_file.as_posix(),
            "sha256": sha256_file(record_file),
        },
        command=command,
        started=started.isoformat(timespec="seconds"),
        ended=ended.isoformat(timespec="seconds"),
        duration_s=round((ended - started).total_seconds(), 3),
        git=git,
        hardware=hardware(),
        env_vars=redact_environ(ENV_VARS),
        installed_packages_sha256=sha256_text(canonical_json(live)),
        drift_from_lock=envlock.drift(environment_["packages"], live)
        if environment_.get("lock") else {},
        tracking=redact(tracking or {}),
    )


def write(
    *,
    stage: str,
    name: str,
    spec: dict[str, Any],
    manifest: Manifest | dict[str, Any],
    root: str | Path,
    start: Any,
    inputs: dict[str, Any],
    outs: list[str | Path],
    command: str | None,
    extra: dict[str, Any] | None = None,
) -> tuple[StageLineage, RunRecord]:
    """Write ``<stage>.lineage.json`` and ``<stage>.run.json`` for spec ``name``; return both.

    ``start`` is the stage's :class:`runners.harness.StageStart` (time, git state, MLflow run).
    """
    root = Path(root)
    out_dir = root / paths.spec_dir(name)
    record = build(stage=stage, name=name, spec=spec, manifest=manifest, root=root,
                   inputs=inputs, outs=outs, command=command, extra=extra)
    record_file = out_dir / paths.lineage_file(stage)
    record.write(record_file)
    run = run_record(
        stage=stage, name=name, root=root, record_file=record_file, git=start.git,
        started=start.started, command=command,
        environment_=record.environment.model_dump(),
        tracking={"mlflow_run_id": start.run.run_id, "tracking_uri": start.run.uri},
    )
    if run.drift_from_lock:
        drift = run.drift_from_lock
        shown = ", ".join(f"{k} {a} (lock) vs {b}" for k, (a, b) in list(drift.items())[:3])
        print(f"warning: installed packages differ from {paths.ENV_LOCK}: {shown}"
              f"{' ...' if len(drift) > 3 else ''} (run 'repro compile')", file=sys.stderr)
    run.write(out_dir / paths.run_file(stage))
    return record, run


def write_prepare(out_dir: Path, key: str, dataset: dict[str, Any], manifest: Manifest,
                  root: str | Path, command: str | None = None) -> PrepareLineage:
    """The prepare stage's lineage record, written into its output directory."""
    root = Path(root)
    source = dataset.get("source") or {}
    raw: dict[str, Any] = {"source": redact(manifest.source), "hash": manifest.raw_hash}
    if isinstance(source, dict) and "path" in source:
        raw["path"] = str(source["path"])
    seed = dataset.get("seed")
    record = PrepareLineage(
        stage="prepare",
        dataset=key,
        command=command or f"python -m runners.prepare {key}",
        params=redact(dataset),
        inputs={"raw": raw},
        code=code("prepare"),
        environment=environment(root),
        determinism={"seed": seed, "seeds": {"split": seed, "generation": seed}},
        outputs={"data_hash": manifest.data_hash, "files": manifest.files},
    )
    record.write(Path(out_dir) / paths.DATA_LINEAGE)
    return record
