"""The control plane never imports the ML stack: `repro validate` must answer instantly."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT

HEAVY = ("torch", "transformers", "datasets", "peft", "trl", "mlflow", "dvc", "tokenizers")


def test_cli_import_loads_no_ml_stack():
    code = (
        "import sys, repro.cli, repro.pipeline.compiler, repro.spec.checks, repro.results.show, repro.data.pin, "
        "repro.data.rawhash, repro.data.cards, repro.results.ancestry, repro.results.result\n"
        "import repro.results.diff, repro.results.verify, repro.contract.envlock, repro.contract.secrets, repro.contract.codedeps\n"
        "import repro.contract.records, repro.contract.git\n"
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_validating_the_shipped_specs_loads_no_ml_stack():
    """What keeps `repro validate` instant (its timing is in BENCHMARKS.md, not a test)."""
    code = (
        "import sys\nfrom repro.cli import main\n"
        f"rc = main(['-C', {str(ROOT)!r}, 'validate'])\n"
        f"print(rc, ','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "0"
