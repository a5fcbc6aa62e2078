"""`run_runner`: how the control plane calls a `python -m runners.<x>` module and reads its JSON."""

from __future__ import annotations

import pytest

from repro.errors import ReproFailure
from repro.pipeline.run import run_runner


def _module(tmp_path, body: str) -> None:
    (tmp_path / "fake_runner.py").write_text(body)


def test_the_last_stdout_line_is_the_result_and_the_params_are_passed(tmp_path, capsys):
    _module(tmp_path, "import sys, pathlib, json\n"
                      "print('library noise')\n"
                      "print('a warning', file=sys.stderr)\n"
                      "d = pathlib.Path(sys.argv[sys.argv.index('--params-dir') + 1])\n"
                      "print(json.dumps({'args': sys.argv[1:2], "
                      "'params': (d / 'params.yaml').read_text()}))\n")
    got = run_runner(tmp_path, "fake_runner", ["x"], params_yaml="specs: {}\n")
    assert got == {"args": ["x"], "params": "specs: {}\n"}
    assert capsys.readouterr().err == "a warning\nlibrary noise\n"


def test_a_runner_error_line_becomes_the_message(tmp_path, capsys):
    _module(tmp_path, "import sys\nprint('context', file=sys.stderr)\n"
                      "print('error: model.base.path: x is not a directory', file=sys.stderr)\n"
                      "sys.exit(1)\n")
    with pytest.raises(ReproFailure, match=r"^model.base.path: x is not a directory$") as e:
        run_runner(tmp_path, "fake_runner", [])
    assert e.value.exit_code == 1
    assert capsys.readouterr().err == "context\n"


def test_a_crash_says_how_the_runner_exited(tmp_path, capsys):
    _module(tmp_path, "raise SystemExit(3)\n")
    with pytest.raises(ReproFailure, match=r"python -m fake_runner failed \(exit code 3\)"):
        run_runner(tmp_path, "fake_runner", [])
    _module(tmp_path, "print('not json')\n")
    with pytest.raises(ReproFailure, match="no JSON result"):
        run_runner(tmp_path, "fake_runner", [])
    assert "not json" in capsys.readouterr().err
