"""``--set``: an override changes the specs named on the command line only, the same way in
every verb, and may only name fields the spec has."""

from __future__ import annotations

import json

from repro.cli import main
from tests.conftest import TINY_PRETRAIN, TINY_SFT, make_workspace, tree_digest


def _ws(tmp_path):
    return make_workspace(tmp_path, {"pre.yaml": TINY_PRETRAIN, "sft.yaml": TINY_SFT})


def test_an_override_never_reaches_the_base_spec(tmp_path, capsys):
    ws = _ws(tmp_path)
    assert main(["-C", str(ws), "validate", "--set", "train.batch_size=0", "sft"]) == 2
    err = capsys.readouterr().err
    assert "--set train.batch_size=0: train.batch_size: must be > 0 (got 0)" in err
    assert "1 error(s) in 1 spec(s)" in err  # pre, sft's base, is untouched
    assert main(["-C", str(ws), "validate", "--set", "train.max_length=40", "sft"]) == 0
    assert main(["-C", str(ws), "--json", "show", "--set", "train.max_length=40", "sft"]) == 0
    assert [r["spec"] for r in json.loads(capsys.readouterr().out.split("\n", 1)[1])] == ["sft"]


def test_unknown_or_unset_fields_are_errors_in_every_verb(tmp_path, capsys):
    ws = _ws(tmp_path)
    (ws / ".dvc").mkdir()  # enough for `run` to get as far as loading the specs
    before = tree_digest(ws)
    for verb in ("validate", "plan", "show", "run"):
        assert main(["-C", str(ws), verb, "sft", "--set", "train.max_stepz=3"]) == 2, verb
        err = capsys.readouterr().err
        assert "--set train.max_stepz=3: train.max_stepz: unknown field" in err, verb
        assert "did you mean 'max_steps'?" in err
    assert main(["-C", str(ws), "validate", "sft", "--set", "train.peft.r=4"]) == 2
    err = capsys.readouterr().err
    assert "train.peft: not set in this spec" in err and "--set 'train.peft={...}'" in err
    # a section given whole, a schema default's field, a free-form mapping key: all fine
    for ok in ("train.peft={kind: lora, r: 4}", "data.clean.min_chars=3",
               "train.optimizer.weight_decay=0.1"):
        assert main(["-C", str(ws), "validate", "sft", "--set", ok]) == 0, ok
    after = {k: v for k, v in tree_digest(ws).items() if not k.startswith(".dvc/tmp/")}
    assert after == before  # (run took, and let go of, the lock in DVC's own tmp folder)


def test_an_override_without_a_named_spec_is_a_usage_error(tmp_path, capsys):
    ws = _ws(tmp_path)
    assert main(["-C", str(ws), "validate", "--set", "train.max_steps=3"]) == 2
    assert "--set applies only to the specs named on the command line" in capsys.readouterr().err
