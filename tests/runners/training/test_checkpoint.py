"""Checkpoints: atomic, last K kept, fingerprinted; a SIGKILLed train stage resumes and
ends with the same weights, bit for bit, as a run never stopped."""

import os
import random
import shutil
import signal
import subprocess
import sys
from pathlib import Path

from repro.contract import paths
from runners.training.checkpoint import Checkpoints
from tests.runners.conftest import base_params, write_params

ROOT = Path(__file__).resolve().parents[3]


def test_keeps_the_last_k_and_cleans_interrupted_writes(tmp_path):
    ck = Checkpoints(tmp_path / "ck", every=5, keep=2, fingerprint="a", say=lambda _: None)
    for step in (5, 10, 15):
        ck.save(step, {"step": step})
    assert [Checkpoints.step_of(p) for p in ck.complete()] == [10, 15]
    # a write killed half-way leaves a hidden temporary directory and no checkpoint
    (tmp_path / "ck" / ".step-00000020.x.tmp").mkdir()
    (tmp_path / "ck" / ".step-00000020.x.tmp" / "state.pt").write_bytes(b"trunc")
    latest = ck.latest()
    assert latest.name == "step-00000015" and Checkpoints.load(latest) == {"step": 15}
    assert sorted(p.name for p in (tmp_path / "ck").iterdir()) == ["step-00000010",
                                                                  "step-00000015"]
    assert ck.due(20, 30) and not ck.due(21, 30) and not ck.due(30, 30)


def test_a_different_run_discards_the_checkpoints(tmp_path):
    Checkpoints(tmp_path / "ck", 5, 2, "spec-a").save(5, {})
    said = []
    assert Checkpoints(tmp_path / "ck", 5, 2, "spec-b", say=said.append).latest() is None
    assert "different spec" in said[0] and not (tmp_path / "ck").exists()


def _workspace(pretrained, tmp_path, name="pre-ckpt", **checkpoint):
    root = tmp_path / "ws"
    shutil.copytree(pretrained / "runs/_data", root / "runs/_data")
    params = base_params()
    spec = params["specs"]["pre"]
    spec["train"]["checkpoint"] = {"every": 10, "keep": 2, **checkpoint}
    params["specs"] = {name: spec}
    write_params(root, params)
    return root, spec


def test_sigkill_then_resume_matches_uninterrupted_run(pretrained, tmp_path, capsys):
    """Kill the real stage process right after a checkpoint chosen at random, run it
    again: same weights, log and metrics as the fixture's run, which never stopped."""
    from runners.train import train

    root, spec = _workspace(pretrained, tmp_path)
    at = random.choice([10, 20, 30, 40, 50, 60])
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "runners.train", "pre-ckpt"], cwd=root, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    seen = []
    for line in proc.stdout:
        seen.append(line)
        if line.startswith(f"checkpoint checkpoints/step-{at:08d}"):
            proc.send_signal(signal.SIGKILL)
            break
    proc.wait(timeout=120)
    assert proc.returncode == -signal.SIGKILL, "".join(seen)
    out = root / "runs/pre-ckpt"
    assert not (out / "model").exists()  # killed before its outputs
    kept = sorted(p.name for p in (out / paths.CHECKPOINTS_DIR).iterdir()
                  if not p.name.startswith("."))
    assert kept[-1] >= f"step-{at:08d}" and len(kept) <= 2

    capsys.readouterr()
    train(spec, "pre-ckpt", root)
    said = capsys.readouterr().out
    assert "resumed from checkpoint checkpoints/step-" in said

    ref = pretrained / "runs/pre"
    for rel in ("model/model.safetensors", "train_log.csv", "train_metrics.json"):
        assert (out / rel).read_bytes() == (ref / rel).read_bytes(), f"{rel} (killed at {at})"
    assert not (out / paths.CHECKPOINTS_DIR).exists()  # cleaned up after success


def test_checkpoints_kept_after_success_when_asked(pretrained, tmp_path):
    from runners.train import train

    root, spec = _workspace(pretrained, tmp_path, every=30, keep_after_success=True)
    spec["train"]["max_steps"] = 65
    train(spec, "pre-ckpt", root)
    kept = sorted(p.name for p in (root / "runs/pre-ckpt" / paths.CHECKPOINTS_DIR).iterdir())
    assert kept == ["step-00000030", "step-00000060"]


def test_adapter_run_resumes_bit_for_bit(pretrained, tmp_path):
    """In-process resume of a LoRA run from its middle checkpoint."""
    from runners.train import train

    root = tmp_path / "ws"
    shutil.copytree(pretrained / "runs/_data", root / "runs/_data")
    shutil.copytree(pretrained / "runs/pre/model", root / "runs/pre/model")
    params = base_params()
    spec = params["specs"]["sft-lora"]
    spec["train"]["peft"]["dropout"] = 0.1  # uses the global RNG: its state must resume too
    spec["train"]["checkpoint"] = {"every": 10, "keep": 5, "keep_after_success": True}
    write_params(root, params)
    train(spec, "sft-lora", root)
    out = root / "runs/sft-lora"
    whole = (out / "model/adapter_model.safetensors").read_bytes()
    ck = out / paths.CHECKPOINTS_DIR
    for later in ("step-00000030",):  # back to step 20, as if killed after it
        shutil.rmtree(ck / later)
    shutil.rmtree(out / "model")
    train(spec, "sft-lora", root)
    assert (out / "model/adapter_model.safetensors").read_bytes() == whole
