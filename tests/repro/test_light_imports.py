"""The control plane never imports the ML stack: `repro validate` must answer instantly."""

from __future__ import annotations

import subprocess
import sys
import time

from tests.conftest import ROOT

HEAVY = ("torch", "transformers", "datasets", "peft", "trl", "mlflow", "dvc", "tokenizers")


def test_cli_import_loads_no_ml_stack():
    code = (
        "import sys, repro.cli, repro.compiler, repro.checks, repro.show, repro.pin, "
        "repro.datahash, repro.datacard, repro.lineage\n"
        "import repro.diff, repro.verify, repro.envlock, repro.secrets, repro.codedeps\n"
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_validate_shipped_specs_is_fast():
    cmd = [sys.executable, "-m", "repro.cli", "-C", str(ROOT), "validate"]
    subprocess.run(cmd, capture_output=True, check=True)  # warm the file cache
    t = time.perf_counter()
    subprocess.run(cmd, capture_output=True, check=True)
    # includes interpreter start-up; the budget is 0.5 s, leave room for a loaded machine
    assert time.perf_counter() - t < 1.5
