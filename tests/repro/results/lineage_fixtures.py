"""Hand-made results (lineage + run records, metrics) in the shape the runners write.

Lets the diff and lineage readers be tested in milliseconds; tests/runners/records/test_lineage.py
checks the same things on records the runners really wrote.
"""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path
from typing import Any


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def dump(path: Path, obj: Any) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(obj, indent=2, sort_keys=True) + "\n"
    path.write_text(text)
    return sha(text)


BASE = {
    "params": {
        "seed": 7, "determinism": {"full": False}, "data": "arith-1234abcd",
        "model": {"base": {"config": {"hidden_size": 32}}},
        "train": {"method": "sft", "optimizer": {"name": "adamw", "lr": 0.001}, "max_steps": 20},
        "evaluate": {"metrics": ["perplexity"]}, "tracking": {"mlflow": False},
    },
    "dataset": {"source": {"builtin": "arithmetic", "size": 300}, "format": "instruction",
                "seed": 7},
    "raw": "raw-1", "data_hash": "data-1", "code": {"runners/train.py": "c1", "repro/contract/paths.py": "c2"},
    "packages": {"numpy": "2.4.6", "torch": "2.13.0"}, "python": "3.11.7",
    "model": "weights-1", "metrics": {"perplexity": 2.5, "n_examples": 20},
    "hardware": {"machine": "x86_64", "cpu": "Xeon", "cpu_count": 2, "gpus": [],
                 "torch_threads": 2},
    "commit": "a" * 40,
}


def variant(**changes: Any) -> dict[str, Any]:
    v = copy.deepcopy(BASE)
    for key, value in changes.items():
        v[key] = value
    return v


def write_result(root: Path, name: str = "s", v: dict[str, Any] | None = None,
                 base: str | None = None) -> Path:
    """Write runs/<name>/ (train + evaluate) and the prepare record under ``root``; with
    ``base``, its model is built on that spec's (already written) result."""
    v = v or BASE
    key = v["params"]["data"]
    env = {"source": "env.lock", "lock": {"path": "env.lock", "sha256": sha(repr(v["packages"]))},
           "python": v["python"], "platform": "linux-x86_64", "versions": {},
           "packages": v["packages"]}
    prep = {"lineage_version": 3, "stage": "prepare", "dataset": key, "params": v["dataset"],
            "inputs": {"raw": {"source": "builtin:arithmetic", "hash": v["raw"]}},
            "code": {"sources": {"runners/prepare.py": "p1"}}, "environment": env,
            "outputs": {"data_hash": v["data_hash"]}}
    prep_sha = dump(root / f"runs/_data/{key}/lineage.json", prep)
    d = root / "runs" / name
    common = {"lineage_version": 3, "spec": name, "spec_hash": sha(repr(v["params"])),
              "params": v["params"], "dataset": v["dataset"],
              "code": {"sources": v["code"]}, "environment": env,
              "determinism": {"seed": v["params"]["seed"], "full": False}}
    data = {"key": key, "path": f"runs/_data/{key}", "data_hash": v["data_hash"],
            "raw_hash": v["raw"], "record": {"path": f"runs/_data/{key}/lineage.json",
                                               "sha256": prep_sha}}
    base_model = {"kind": "config", "ref": "config", "revision": None, "sha256": "cfg"}
    if base is not None:
        rec = root / "runs" / base / "train.lineage.json"
        model = json.loads(rec.read_text())["outputs"][f"runs/{base}/model"]
        base_model = {"kind": "spec", "ref": f"runs/{base}/model", "spec": base,
                      "sha256": model, "record": {"path": f"runs/{base}/train.lineage.json",
                                                  "sha256": sha(rec.read_text())}}
    train = {**common, "stage": "train", "command": f"python -m runners.train {name}",
             "inputs": {"data": data, "base_model": base_model},
             "outputs": {f"runs/{name}/model": v["model"],
                         f"runs/{name}/train_metrics.json": "tm-" + v["model"]}}
    train_sha = dump(d / "train.lineage.json", train)
    mpath = d / "metrics.json"
    metrics_sha = dump(mpath, v["metrics"])
    ev = {**common, "stage": "evaluate", "command": f"python -m runners.evaluate {name}",
          "inputs": {"data": data, "base_model": base_model,
                     "model": {"path": f"runs/{name}/model", "sha256": v["model"],
                               "record": {"path": f"runs/{name}/train.lineage.json",
                                          "sha256": train_sha}}},
          "outputs": {f"runs/{name}/metrics.json": metrics_sha}}
    ev_sha = dump(d / "evaluate.lineage.json", ev)
    for stage, rec_sha in (("train", train_sha), ("evaluate", ev_sha)):
        dump(d / f"{stage}.run.json", {
            "run_version": 1, "stage": stage, "spec": name,
            "record": {"path": f"runs/{name}/{stage}.lineage.json", "sha256": rec_sha},
            "started": "2026-01-01T00:00:00+00:00", "duration_s": 1.0,
            "git": {"commit": v["commit"], "dirty": False, "diff_sha256": None},
            "hardware": v["hardware"], "env_vars": {}, "tracking": {"mlflow_run_id": None}})
    dump(d / "train_metrics.json", {"last_loss": 1.0})
    (root / "specs").mkdir(exist_ok=True)
    return d
