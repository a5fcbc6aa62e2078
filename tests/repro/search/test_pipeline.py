"""A sweep through the pipeline: `dvc repro` runs it once, then nothing; its best trial,
promoted to a concrete spec and built by `dvc repro`, gives the trial's metric bit for bit."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import make_workspace
from tests.search_specs import SWEEP

BIN = str(Path(sys.executable).parent)
ENV = {**os.environ, "DVC_NO_ANALYTICS": "1", "NO_COLOR": "1", "PATH": BIN + os.pathsep
       + os.environ.get("PATH", ""), "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t",
       "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}
ENV.pop("REPRO_SEARCH_STORAGE", None)


def sh(ws: Path, *cmd: str) -> str:
    proc = subprocess.run(cmd, cwd=ws, env=ENV, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def test_sweep_in_dvc_then_promote_and_rebuild(tmp_path):
    ws = make_workspace(tmp_path, {"sweep.yaml": SWEEP})
    (ws / ".gitignore").write_text("/runs/\n")
    sh(ws, "git", "init", "-q")
    sh(ws, sys.executable, "-m", "dvc", "init", "-q")
    repro = (sys.executable, "-m", "repro.cli")
    sh(ws, *repro, "compile")
    out = sh(ws, sys.executable, "-m", "dvc", "repro")
    assert "Running stage 'search-sweep'" in out
    study = json.loads((ws / "runs/sweep/study.json").read_text())
    assert len(study["trials"]) == 4 and study["objectives"] == [
        {"metric": "perplexity", "direction": "minimize"}]
    assert "up to date" in sh(ws, sys.executable, "-m", "dvc", "repro")

    promoted = json.loads(sh(ws, *repro, "promote", "sweep", "--json"))
    best = next(t for t in study["trials"] if t["number"] == study["best_trial"])
    assert promoted["trial"] == best["number"] and promoted["values"] == best["values"]
    text = (ws / promoted["file"]).read_text()
    assert text.startswith(f"# Promoted from study {study['study']} (spec sweep), trial "
                           f"{best['number']}: perplexity {best['values'][0]!r}.")
    assert "search" not in text.split("\n# ")[-1]
    sh(ws, *repro, "compile")
    out = sh(ws, sys.executable, "-m", "dvc", "repro")
    name = promoted["spec"]
    assert f"Running stage 'train-{name}'" in out and "search-sweep" not in out.replace(
        "Stage 'search-sweep' didn't change", "")
    metrics = json.loads((ws / f"runs/{name}/metrics.json").read_text())
    assert metrics["perplexity"] == best["values"][0]  # bit for bit, through its own stages
    trial_model = ws / "runs/sweep/model"
    for f in (ws / f"runs/{name}/model").glob("*.safetensors"):
        assert f.read_bytes() == (trial_model / f.name).read_bytes()

    # diff between two trials names exactly the sampled fields that differ
    a, b = study["trials"][0], study["trials"][1]
    differ = sorted(k for k in a["params"] if a["params"][k] != b["params"][k])
    diff = json.loads(sh(ws, *repro, "diff", "sweep#0", "sweep#1", "--json"))
    spec_inputs = sorted(x["key"].removeprefix("spec.") for x in diff["inputs"]
                         if x["key"].startswith("spec."))
    assert spec_inputs == differ and differ
    # a trial and the spec promoted from it: the same inputs
    # (exit 1: the trial's train log also holds the validation losses it was pruned on)
    proc = subprocess.run([*repro, "diff", f"sweep#{best['number']}", name, "--json"], cwd=ws,
                          env=ENV, capture_output=True, text=True)
    same = json.loads(proc.stdout)
    assert [x for x in same["inputs"] if x["key"].startswith("spec.")] == []
    assert "train:model" not in {x["key"] for x in same.get("outputs", [])}

    # a search field changed: the sweep stage is stale, nothing else
    make_workspace(ws, {"sweep.yaml": SWEEP.replace("trials: 4", "trials: 3")})
    sh(ws, *repro, "compile")
    status = sh(ws, sys.executable, "-m", "dvc", "status")
    assert "search-sweep:" in status and f"train-{name}:" not in status
