"""Fast stage start-up: a LoRA train stage reaches its training loop without importing
bitsandbytes, MLflow or TRL (MLflow runs in a tracking process beside it), and the
bitsandbytes gate reopens for whatever needs 4 or 8 bits."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from runners.models import adapters
from tests.runners.conftest import base_params, write_params

# runs runners.train as DVC does, stopping at the first call of the training loop
UNTIL_FIT = """
import os, sys
import runners.training.loop as loop

def fit(*a, **k):
    loaded = [m for m in ("bitsandbytes", "mlflow", "trl") if sys.modules.get(m) is not None]
    print("LOADED", ",".join(loaded), flush=True)
    os._exit(0)

loop.fit = fit
from runners.train import main
sys.exit(main())  # as `python -m runners.train <spec>` calls it
"""


def test_lora_train_stage_imports_no_bitsandbytes_mlflow_or_trl(pretrained, tmp_path):
    root = tmp_path / "ws"
    shutil.copytree(pretrained / "runs/_data", root / "runs/_data")
    shutil.copytree(pretrained / "runs/pre/model", root / "runs/pre/model")
    params = base_params()
    spec = params["specs"]["sft-lora"]
    spec["tracking"] = {"mlflow": True, "tracking_uri": None, "experiment": "tests"}
    write_params(root, params)
    r = subprocess.run([sys.executable, "-c", UNTIL_FIT, "sft-lora"], cwd=root,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "LOADED \n" in r.stdout, r.stdout
    assert "kernels" not in r.stderr  # bitsandbytes' warning about a missing package


# in a fresh process: bitsandbytes must not be imported twice
GATE = """
import importlib.util, sys
from pathlib import Path
from runners.models import adapters
from tests.runners.training.test_training_options import _fit

pretrained = Path(sys.argv[1])
with adapters.bitsandbytes_hidden():
    assert importlib.util.find_spec("bitsandbytes") is None
    try:
        import bitsandbytes
        raise SystemExit("imported")
    except ImportError:
        pass
assert "bitsandbytes" not in sys.modules  # the block leaves no trace

# a sweep: a LoRA with the gate shut, then a QLoRA in the same process
adapters.hide_bitsandbytes()
lora = {"kind": "lora", "r": 4, "alpha": 8, "dropout": 0.0, "target_modules": ["q_proj", "v_proj"]}
_fit(pretrained, lora, max_steps=2)
from peft.import_utils import is_bnb_available
assert not is_bnb_available() and sys.modules["bitsandbytes"] is None
_, model = _fit(pretrained, {**lora, "kind": "qlora", "quant_type": "nf4", "double_quant": True,
                             "compute_dtype": "fp32"}, max_steps=2)
import bitsandbytes as bnb
assert any(isinstance(m, bnb.nn.Linear4bit) for m in model.modules())
assert is_bnb_available()
with adapters.bitsandbytes_hidden():  # loaded now: a quantized layer may exist
    assert importlib.util.find_spec("bitsandbytes") is not None
print("OK")
"""


def test_gate_hides_bitsandbytes_then_reopens_for_qlora(pretrained):
    pytest.importorskip("bitsandbytes")
    root = Path(__file__).resolve().parents[2]
    r = subprocess.run([sys.executable, "-c", GATE, str(pretrained)], cwd=root,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and "OK" in r.stdout, r.stderr[-3000:]


def test_needs_bitsandbytes():
    qlora = {"train": {"peft": {"kind": "qlora"}, "optimizer": {"name": "adamw"}}}
    adam8 = {"train": {"peft": None, "optimizer": {"name": "adamw_8bit"}}}
    lora = {"train": {"peft": {"kind": "lora"}, "optimizer": {"name": "adamw"}}}
    assert adapters.needs_bitsandbytes(qlora) and adapters.needs_bitsandbytes(adam8)
    assert not adapters.needs_bitsandbytes(lora)
    assert not adapters.needs_bitsandbytes(qlora, "evaluate")  # evaluation loads fp32
    assert not adapters.needs_bitsandbytes({})
