"""The compiler: deterministic output, exact params per stage, shared prepare stages, hand stages kept."""

from __future__ import annotations

from pathlib import Path

import yaml

from repro.cli import main
from repro.contract.codedeps import code_deps
from repro.pipeline.compiler import compile_workspace
from repro.spec.workspace import load_workspace
from tests.conftest import ROOT, make_workspace
from tests.specs import TINY_SFT, spec

TINY = {"pre.yaml": spec("pretrain"), "sft.yaml": spec("sft")}


def _compile(ws: Path):
    return compile_workspace(ws, load_workspace(ws))


def test_byte_identical_for_identical_input(tmp_path):
    a = make_workspace(tmp_path / "a", TINY)
    b = make_workspace(tmp_path / "b", dict(reversed(TINY.items())))
    ca, cb = _compile(a), _compile(b)
    assert ca.dvc_yaml == cb.dvc_yaml
    assert ca.params_yaml == cb.params_yaml
    assert _compile(a).dvc_yaml == ca.dvc_yaml


def test_stage_params_are_exactly_what_each_stage_reads(workspace):
    dvc = yaml.safe_load(_compile(workspace).dvc_yaml)["stages"]
    assert dvc["train-sft"]["params"] == [
        "specs.sft.seed", "specs.sft.determinism", "specs.sft.data", "specs.sft.model",
        "specs.sft.train", "specs.sft.tracking",
    ]
    assert dvc["evaluate-sft"]["params"] == [
        "specs.sft.seed", "specs.sft.determinism", "specs.sft.data", "specs.sft.model",
        "specs.sft.evaluate", "specs.sft.tracking",
    ]
    (prep,) = [n for n in dvc if n.startswith("prepare-arithmetic-")]
    assert dvc[prep]["params"] == [f"datasets.{prep.removeprefix('prepare-')}"]
    # the fine-tune depends on the base spec's model, so the pipeline is one DAG
    assert "runs/pre/model" in dvc["train-sft"]["deps"]
    # ... and on the record of that model, which its own record points to
    assert "runs/pre/train.lineage.json" in dvc["train-sft"]["deps"]
    assert "runs/sft/train.lineage.json" in dvc["evaluate-sft"]["deps"]
    # every stage depends on the environment lock: a package upgrade makes it stale
    assert all("env.lock" in stage["deps"] for stage in dvc.values())
    assert dvc["train-sft"]["outs"] == ["runs/sft/model", "runs/sft/train.lineage.json",
                                        "runs/sft/train_log.csv"]
    assert dvc["evaluate-sft"]["metrics"] == ["runs/sft/metrics.json"]


def test_identical_data_sections_share_one_prepare_stage(tmp_path):
    other = spec("sft", {"train.optimizer.lr": 5.0e-4})
    ws = make_workspace(tmp_path, {**TINY, "sft2.yaml": other})
    dvc = yaml.safe_load(_compile(ws).dvc_yaml)["stages"]
    prepares = [n for n in dvc if n.startswith("prepare-")]
    assert len(prepares) == 2  # grammar + arithmetic, not three
    assert set(dvc["train-sft"]["deps"]) & set(dvc["train-sft2"]["deps"]) >= {
        f"runs/_data/{n.removeprefix('prepare-')}" for n in prepares if "arith" in n
    }
    # a different data seed is a different dataset
    ws2 = make_workspace(tmp_path / "x", {**TINY, "sft2.yaml": {**other, "seed": 8}})
    dvc2 = yaml.safe_load(_compile(ws2).dvc_yaml)["stages"]
    assert len([n for n in dvc2 if n.startswith("prepare-")]) == 3


def _prepare_keys(ws: Path) -> dict[str, str]:
    params = yaml.safe_load(_compile(ws).params_yaml)
    return {name: spec["data"] for name, spec in params["specs"].items()}


def test_tokenizer_and_cleaning_are_part_of_the_data_key(tmp_path):
    ws = make_workspace(tmp_path / "a", TINY)
    keys = _prepare_keys(ws)
    params = yaml.safe_load(_compile(ws).params_yaml)
    # the fine-tune's data is tokenized with its base's tokenizer, and depends on it
    assert params["datasets"][keys["sft"]]["tokenizer_from"] == {"data": keys["pre"]}
    dvc = yaml.safe_load(_compile(ws).dvc_yaml)["stages"]
    assert f"runs/_data/{keys['pre']}" in dvc[f"prepare-{keys['sft']}"]["deps"]
    variants = {
        "vocab": {"data.tokenizer.vocab_size": 320},
        "clean": {"data.clean": {"dedupe": "near"}},
        "workers": {"data.workers": 2},
    }
    for what, change in variants.items():
        other = _prepare_keys(make_workspace(tmp_path / what, {**TINY,
                                                               "pre.yaml": spec("pretrain", change)}))
        changed = other["pre"] != keys["pre"]
        assert changed == (what != "workers"), what
        # a new tokenizer for the base is a new key for the fine-tune's data too
        assert (other["sft"] != keys["sft"]) == (what == "vocab" or what == "clean"), what


def test_evaluate_change_touches_only_evaluate_params(tmp_path):
    a = make_workspace(tmp_path / "a", TINY)
    b = make_workspace(tmp_path / "b", {**TINY, "sft.yaml": spec("sft", {"evaluate.max_examples": 10})})
    pa = yaml.safe_load(_compile(a).params_yaml)["specs"]["sft"]
    pb = yaml.safe_load(_compile(b).params_yaml)["specs"]["sft"]
    assert [k for k in pa if pa[k] != pb[k]] == ["evaluate"]


def test_hand_written_stages_and_params_are_kept(workspace):
    (workspace / "dvc.yaml").write_text(
        "stages:\n  report:\n    cmd: echo hi > report.txt\n    outs: [report.txt]\n"
    )
    (workspace / "params.yaml").write_text("mine: {x: 1}\nspecs: {stale: true}\n")
    assert main(["-C", str(workspace), "compile"]) == 0
    dvc = yaml.safe_load((workspace / "dvc.yaml").read_text())["stages"]
    assert dvc["report"] == {"cmd": "echo hi > report.txt", "outs": ["report.txt"]}
    assert "train-pre" in dvc
    params = yaml.safe_load((workspace / "params.yaml").read_text())
    assert params["mine"] == {"x": 1} and "stale" not in params["specs"]
    # compiling again changes nothing
    before = (workspace / "dvc.yaml").read_bytes()
    assert main(["-C", str(workspace), "compile"]) == 0
    assert (workspace / "dvc.yaml").read_bytes() == before


def test_compile_check(workspace, capsys):
    assert main(["-C", str(workspace), "compile", "--check"]) == 1
    assert "stale" in capsys.readouterr().err
    assert main(["-C", str(workspace), "compile"]) == 0
    assert main(["-C", str(workspace), "compile", "--check"]) == 0
    spec = workspace / "specs" / "sft.yaml"
    spec.write_text(spec.read_text().replace("lr: 1.0e-3", "lr: 2.0e-3"))
    assert main(["-C", str(workspace), "compile", "--check"]) == 1


def test_compile_refuses_invalid_specs_and_writes_nothing(workspace, capsys):
    (workspace / "specs" / "sft.yaml").write_text(TINY_SFT.replace("seed: 7", "seed: x"))
    assert main(["-C", str(workspace), "compile"]) == 2
    assert not (workspace / "dvc.yaml").exists() and not (workspace / "params.yaml").exists()
    assert "specs/sft.yaml:2:7: seed" in capsys.readouterr().err


def test_code_deps_follow_imports(tmp_path):
    pkg = tmp_path / "runners"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "train.py").write_text("from runners import util\nfrom .model import build\n")
    (pkg / "util.py").write_text("def f():\n    import runners.deep\n")
    (pkg / "model.py").write_text("import os\n")
    (pkg / "deep.py").write_text("")
    (pkg / "unused.py").write_text("")
    assert code_deps(tmp_path, "runners.train") == [
        "runners/deep.py", "runners/model.py", "runners/train.py", "runners/util.py",
    ]


def test_committed_pipeline_is_up_to_date():
    """`repro compile --check` on the shipped specs (what CI checks too)."""
    assert main(["-C", str(ROOT), "compile", "--check"]) == 0


def test_spec_reference_matches_schema():
    from repro.spec.reference import markdown_reference

    text = (ROOT / "docs" / "spec-reference.md").read_text(encoding="utf-8")
    block = text.split("<!-- reference:start -->\n")[1].split("<!-- reference:end -->")[0]
    assert block == markdown_reference(), \
        "run: repro schema --markdown, paste it into docs/spec-reference.md"
