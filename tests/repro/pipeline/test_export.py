"""`repro export`: the control plane runs `python -m runners.export` and renders its JSON.

(Merging an adapter gives the same logits: tests/runners/test_adapters.py.)"""

from __future__ import annotations

import json

from repro.cli import main
from tests.conftest import TINY_PRETRAIN, make_workspace


def _trained(tmp_path):
    ws = make_workspace(tmp_path / "ws", {"pre.yaml": TINY_PRETRAIN})
    model = ws / "runs" / "pre" / "model"
    model.mkdir(parents=True)
    (model / "config.json").write_text('{"model_type": "llama"}')
    (model / "model.safetensors").write_bytes(b"weights")
    return ws


def test_a_full_model_is_copied(tmp_path, capsys):
    ws = _trained(tmp_path)
    assert main(["-C", str(ws), "export", "pre"]) == 0
    out = capsys.readouterr().out
    assert out == f"exported pre: copied its full model -> {ws / 'runs/pre/merged'}\n"
    assert (ws / "runs/pre/merged/model.safetensors").read_bytes() == b"weights"
    assert not (ws / "params.yaml").exists()  # the runner read freshly compiled params


def test_output_is_relative_to_where_repro_was_started(tmp_path, capsys, monkeypatch):
    ws = _trained(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert main(["-C", str(ws), "--json", "export", "pre", "-o", "out/pre"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info == {"spec": "pre", "merged": False, "out": "out/pre"}
    assert (tmp_path / "out/pre/config.json").is_file()


def test_an_untrained_spec_is_a_failed_run_with_the_runners_message(tmp_path, capsys):
    ws = make_workspace(tmp_path, {"pre.yaml": TINY_PRETRAIN})
    assert main(["-C", str(ws), "export", "pre"]) == 1
    err = capsys.readouterr().err
    assert err.strip() == "error: runs/pre/model: not found (run the train stage first)"
