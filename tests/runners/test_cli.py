"""Entry points: ``python -m runners.<stage>``; expected errors are one ``error:`` line, exit 1."""

import subprocess
import sys
from pathlib import Path

from runners import evaluate, prepare, train
from tests.runners.conftest import base_params, write_params

REPO = Path(__file__).resolve().parents[2]


def _run(module: str, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1"}
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_train_before_prepare_is_one_error_line(workspace):
    r = _run("runners.train", "pre", cwd=workspace)
    assert r.returncode == 1
    assert (
        r.stderr
        == "error: runs/_data/grammar-test: prepared data not found (run the prepare stage first)\n"
    )


def test_unknown_spec_and_missing_params_file(workspace, tmp_path):
    r = _run("runners.evaluate", "nope", cwd=workspace)
    assert r.returncode == 1
    assert (
        r.stderr == "error: params.yaml: specs.nope: not found (known: pre, sft-full, sft-lora)\n"
    )
    empty = tmp_path / "empty"
    empty.mkdir()
    r = _run("runners.prepare", "x", cwd=empty)
    assert (r.returncode, r.stderr) == (
        1,
        "error: params.yaml: not found (run the compiler first)\n",
    )


def test_prepare_subprocess_succeeds(workspace):
    assert _run("runners.prepare", "grammar-test", cwd=workspace).returncode == 0
    r = _run("runners.prepare", "arith-test", cwd=workspace)  # uses grammar-test's tokenizer
    assert r.returncode == 0, r.stderr
    assert (workspace / "runs/_data/arith-test/manifest.json").is_file()


def test_missing_params_key(workspace, capsys):
    params = base_params()
    params["specs"]["pre"]["train"]["optimizer"]["lr"] = -1
    params["specs"]["sft-full"]["model"]["base"] = {"spec": "pre", "path": "x"}
    write_params(workspace, params)
    assert train.main(["pre", "--root", str(workspace)]) == 1
    assert train.main(["sft-full", "--root", str(workspace)]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith(
        "error: params.yaml: specs.pre.train.optimizer.lr: must be greater than 0 (got -1;"
    )
    assert err[1].startswith("error: params.yaml: specs.sft-full.model.base.path: Extra inputs")


def test_evaluate_before_train(workspace, capsys):
    assert prepare.main(["grammar-test", "--root", str(workspace)]) == 0
    assert evaluate.main(["pre", "--root", str(workspace)]) == 1
    assert (
        capsys.readouterr().err == "error: runs/pre/model: not found (run the train stage first)\n"
    )


def test_unknown_metric(workspace, capsys):
    params = base_params()
    params["specs"]["pre"]["evaluate"]["metrics"] = ["perplexity", "blue"]
    write_params(workspace, params)
    assert evaluate.main(["pre", "--root", str(workspace)]) == 1
    err = capsys.readouterr().err
    assert "specs.pre.evaluate.metrics[1]: must be 'perplexity', 'exact_match'" in err
    assert "'bleu', 'chrf', 'rouge'" in err and "(got 'blue'" in err
