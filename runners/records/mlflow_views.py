"""What the tracking process writes to MLflow beyond params and live metrics: the views.

Run inside the tracking process only (``runners.records.tracking.serve``), with an
``MlflowClient``: dataset inputs with our own content digest, the spec file and the
resolved spec, the curves of the train log that were not logged live (validation loss),
the trained model or adapter as a logged model (optionally registered), and the parent run
of a spec: its description, headline metrics, gate results and links to its stage runs,
all read from the files under ``runs/<spec>/`` (so ``sync_parent`` can be called again
whenever one of them changes, e.g. after the gates are checked).
"""

from __future__ import annotations

import csv
import json
import math
import tempfile
from pathlib import Path
from typing import Any

from repro.contract import paths

TAG_SPEC = "repro.spec"
TAG_ROLE = "repro.role"
TAG_STAGE = "repro.stage"
TAG_SPEC_HASH = "repro.spec_hash"
NOTE = "mlflow.note.content"
GATES_FILE = "gates.json"  # runs/<spec>/gates.json, written by the gate check
DIGEST_CHARS = 32  # MLflow keeps at most 36 characters of a dataset digest
CONTEXT = {"train": "training", "evaluate": "evaluation"}


# ----------------------------------------------------------------------------- datasets


def datasets(manifest: dict[str, Any], key: str, stage: str) -> list[dict[str, Any]]:
    """The prepared splits a stage reads, as MLflow dataset inputs: digest = our sha256 of
    the split file (MLflow's own digest hashes only the first 10,000 rows)."""
    splits = ("train", "validation") if stage == "train" else ("validation", "test")
    out = []
    files = manifest.get("files") or {}
    for split in splits:
        fname = paths.SPLIT_FILES[split]
        if fname not in files:
            continue
        out.append({
            "name": f"{key}/{split}",
            "digest": files[fname][:DIGEST_CHARS],
            "source": (paths.data_dir(key) / fname).as_posix(),
            "profile": {"num_rows": (manifest.get("rows") or {}).get(split), "sha256": files[fname],
                        "data_hash": manifest.get("data_hash"), "format": manifest.get("format"),
                        "source": manifest.get("source")},
            "context": CONTEXT[stage] if split != "validation" or stage == "evaluate"
            else "validation",
        })
    return out


def log_datasets(client, run_id: str, items: list[dict[str, Any]]) -> None:
    from mlflow.entities import Dataset, DatasetInput, InputTag

    inputs = [DatasetInput(
        Dataset(name=d["name"], digest=d["digest"], source_type="local",
                source=json.dumps({"uri": d["source"]}), profile=json.dumps(d["profile"])),
        tags=[InputTag("mlflow.data.context", d["context"])],
    ) for d in items]
    if inputs:
        client.log_inputs(run_id, datasets=inputs)


# ----------------------------------------------------------------------------- artifacts


def log_spec(client, run_id: str, root: Path, name: str, spec: dict[str, Any]) -> None:
    """``spec/<name>.yaml`` (the file as written) and ``spec/resolved.json`` (params.yaml's
    entry: every default filled in, ``extends`` and ``--set`` applied)."""
    spec_file = root / paths.SPECS_DIR / f"{name}.yaml"
    if spec_file.is_file():
        client.log_artifact(run_id, str(spec_file), "spec")
    with tempfile.TemporaryDirectory(prefix="repro-mlflow-") as tmp:
        resolved = Path(tmp) / "resolved.json"
        resolved.write_text(json.dumps(spec, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        client.log_artifact(run_id, str(resolved), "spec")


def log_diff(client, run_id: str, diff: str | None) -> None:
    """The uncommitted diff a dirty run ran with (``git diff HEAD``), as ``git/diff.patch``."""
    if not diff:
        return
    with tempfile.TemporaryDirectory(prefix="repro-mlflow-") as tmp:
        f = Path(tmp) / "diff.patch"
        f.write_text(diff, encoding="utf-8")
        client.log_artifact(run_id, str(f), "git")


def read_curves(log_file: Path) -> dict[str, list[tuple[int, float]]]:
    """Every column of a train log (``step`` first) as (step, value) pairs; empty cells
    (a validation loss measured every N steps) are skipped."""
    if not log_file.is_file():
        return {}
    curves: dict[str, list[tuple[int, float]]] = {}
    with log_file.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            step = int(float(row.pop("step")))
            for col, text in row.items():
                if text in (None, ""):
                    continue
                value = float(text)
                if math.isfinite(value):
                    curves.setdefault(col, []).append((step, value))
    return curves


def log_curves(client, run_id: str, log_file: Path, skip: set[str]) -> list[str]:
    """Log the train log's columns not already logged live; return their names."""
    from mlflow.entities import Metric

    logged = []
    for col, points in read_curves(log_file).items():
        if col in skip:
            continue
        batch = [Metric(col, v, 0, step) for step, v in points]
        for i in range(0, len(batch), 1000):
            client.log_batch(run_id, metrics=batch[i: i + 1000])
        logged.append(col)
    return logged


def log_model(client, experiment_id: str, run_id: str, model_dir: Path, name: str,
              spec: dict[str, Any], register: str | None) -> str | None:
    """The trained model (or adapter) as an MLflow logged model, output of ``run_id``;
    registered as a new version of ``register`` when set. Returns the model id."""
    from mlflow.entities import LoggedModelOutput

    if not model_dir.is_dir():
        return None
    peft = (spec.get("train") or {}).get("peft")
    kind = "adapter" if peft else "model"
    model = client.create_logged_model(
        experiment_id, name=name, source_run_id=run_id, model_type=kind,
        tags={TAG_SPEC: name, "repro.method": str(spec["train"]["method"])},
    )
    client.log_model_artifacts(model.model_id, str(model_dir))
    client.finalize_logged_model(model.model_id, "READY")
    client.log_outputs(run_id, [LoggedModelOutput(model.model_id, 0)])
    if register:
        from mlflow.exceptions import MlflowException

        try:
            client.create_registered_model(register)
        except MlflowException as e:
            if "already exists" not in str(e).lower():
                raise
        client.create_model_version(register, source=f"models:/{model.model_id}",
                                    run_id=run_id, model_id=model.model_id,
                                    tags={TAG_SPEC: name})
    return model.model_id


# ----------------------------------------------------------------------------- parent run


def parent_run(client, experiment_id: str, name: str, spec_hash: str | None,
               params: dict[str, str]) -> str:
    """The parent run of this version of spec ``name`` (tags spec, role=spec, spec hash),
    created with the spec's params when absent."""
    from mlflow.entities import Param

    quoted = name.replace("'", "\\'")
    filt = f"tags.`{TAG_SPEC}` = '{quoted}' and tags.`{TAG_ROLE}` = 'spec'"
    if spec_hash:
        filt += f" and tags.`{TAG_SPEC_HASH}` = '{spec_hash}'"
    found = client.search_runs([experiment_id], filter_string=filt, max_results=1)
    if found:
        return found[0].info.run_id
    tags = {TAG_SPEC: name, TAG_ROLE: "spec"}
    if spec_hash:
        tags[TAG_SPEC_HASH] = spec_hash
    parent = client.create_run(experiment_id, run_name=name, tags=tags)
    flat = [Param(k, v) for k, v in params.items()]
    for i in range(0, len(flat), 100):
        client.log_batch(parent.info.run_id, params=flat[i: i + 100])
    return parent.info.run_id


def _numbers(d: Any, prefix: str = "") -> dict[str, float]:
    out: dict[str, float] = {}
    if isinstance(d, dict):
        for k, v in d.items():
            out.update(_numbers(v, f"{prefix}{k}."))
    elif isinstance(d, (int, float)) and not isinstance(d, bool) and math.isfinite(d):
        out[prefix[:-1]] = float(d)
    return out


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def description(root: Path, name: str) -> str:
    """The ``description`` field of ``specs/<name>.yaml`` ('' when absent)."""
    f = root / paths.SPECS_DIR / f"{name}.yaml"
    if not f.is_file():
        return ""
    from ruamel.yaml import YAML

    try:
        data = YAML(typ="safe", pure=True).load(f.read_text(encoding="utf-8"))
    except Exception:
        return ""
    return str(data.get("description") or "") if isinstance(data, dict) else ""


def sync_parent(client, parent_id: str, experiment_id: str, root: Path, name: str) -> None:
    """Bring the parent run up to date with ``runs/<name>/``: headline metrics (evaluate's
    metrics as they are, train's as ``train.<k>``), gate results (``gates.json``), the
    description and links to the stage runs in its note, then end it now."""
    from mlflow.entities import Metric

    d = root / paths.spec_dir(name)
    metrics = _numbers(_read_json(d / paths.METRICS))
    metrics.update(_numbers(_read_json(d / paths.TRAIN_METRICS), "train."))
    gates = _read_json(d / GATES_FILE)
    tags: dict[str, str] = {}
    lines = [description(root, name) or f"spec `{name}`", ""]
    if isinstance(gates, dict) and "passed" in gates:
        metrics["gates.passed"] = 1.0 if gates["passed"] else 0.0
        tags["repro.gates"] = "passed" if gates["passed"] else "failed"
        lines += ["**Gates**: " + ("passed" if gates["passed"] else "FAILED"), "",
                  "| metric | kind | value | threshold | reference | passed |", "|---|---|---|---|---|---|"]
        for g in gates.get("gates") or []:
            lines.append("| " + " | ".join(str(g.get(k, "")) for k in
                                           ("metric", "kind", "value", "threshold", "reference",
                                            "passed")) + " |")
            if isinstance(g.get("value"), (int, float)) and g.get("metric"):
                tags[f"repro.gate.{g['metric']}.{g.get('kind', 'gate')}"] = str(g.get("passed"))
        lines.append("")
    children = client.search_runs(
        [experiment_id], filter_string=f"tags.`mlflow.parentRunId` = '{parent_id}'",
        order_by=["attributes.start_time ASC"],
    )
    linked = {r.data.tags.get(TAG_STAGE): r.info.run_id for r in children}
    for stage in ("train", "evaluate"):  # the stage ran under an earlier version of the spec
        record = _read_json(d / paths.run_file(stage))
        rid = ((record or {}).get("tracking") or {}).get("mlflow_run_id")
        if stage not in linked and rid:
            linked[stage] = rid
    lines.append("**Stage runs**: " + ", ".join(
        f"[{stage}](#/experiments/{experiment_id}/runs/{rid})" for stage, rid in linked.items()
        if stage))
    for stage, rid in linked.items():
        if stage:
            tags[f"repro.run.{stage}"] = rid
    tags[NOTE] = "\n".join(lines)
    for k, v in tags.items():
        client.set_tag(parent_id, k, v)
    if metrics:
        now = _now_ms()
        batch = [Metric(k, v, now, 0) for k, v in sorted(metrics.items())]
        for i in range(0, len(batch), 1000):
            client.log_batch(parent_id, metrics=batch[i: i + 1000])
    if isinstance(gates, dict):
        path = d / GATES_FILE
        client.log_artifact(parent_id, str(path))
    client.set_terminated(parent_id, "FINISHED")


def _now_ms() -> int:
    import time

    return int(time.time() * 1000)
