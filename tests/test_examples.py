"""The example specs in examples/ (too slow for the default pipeline): each one is valid
next to the shipped specs, as the docs say to build it (copied into specs/), and compiles
to stages that run after the specs it needs."""

from __future__ import annotations

import shutil

import yaml

from repro.cli import main
from repro.pipeline.compiler import compile_workspace
from repro.spec.workspace import load_workspace
from tests.conftest import ROOT

EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))


def test_every_example_validates_and_compiles_beside_the_shipped_specs(tmp_path, capsys):
    shutil.copytree(ROOT / "specs", tmp_path / "specs")
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    for item in ("tasks", "human"):  # what the shipped specs name besides specs/
        if (ROOT / item).is_dir():
            shutil.copytree(ROOT / item, tmp_path / item)
    for example in EXAMPLES:
        shutil.copy(example, tmp_path / "specs" / example.name)
    assert {e.stem for e in EXAMPLES} >= {"trl-orpo", "trl-rloo", "trl-distill", "distill-small",
                                          "trl-sft-zephyr", "trl-sft-template-file"}
    assert main(["-C", str(tmp_path), "validate"]) == 0, capsys.readouterr().err
    entries = load_workspace(tmp_path)
    compiled = compile_workspace(tmp_path, entries)
    names = [s.name for s in compiled.graph.stages]
    assert names.index("train-trl-reward") < names.index("train-trl-rloo")
    assert names.index("train-trl-sft-chat") < names.index("train-distill-small")
    assert "runs/trl-sft-chat/model" in compiled.graph.stage("train-trl-distill").deps
    params = yaml.safe_load(compiled.params_yaml)
    key = params["specs"]["trl-sft-template-file"]["data"]
    assert params["datasets"][key]["chat_template_hash"].startswith("sha256:")
    assert "examples/qa-chat.jinja" in compiled.graph.stage(f"prepare-{key}").deps
    # every example says how to build it
    for example in EXAMPLES:
        assert f"cp examples/{example.name} specs/" in example.read_text()
