"""The runners the control plane calls for JSON (`repro plan`, `repro export`, `repro pin` on
built-in data): one line of JSON on stdout, or one `error:` line and exit code 1."""

from __future__ import annotations

import json

from repro.contract.fsio import canonical_json
from repro.contract.hashing import hash_bytes
from runners.data import builtin, sources
from runners.export import main as export_main
from runners.plan import main as plan_main


def test_builtin_hash_entry_prints_the_hash_of_the_rows(capsys):
    assert sources.main(["builtin-hash", "arithmetic", "20", "3"]) == 0
    text = "".join(canonical_json(r) + "\n" for r in builtin.generate("arithmetic", 20, 3))
    assert json.loads(capsys.readouterr().out) == {"hash": hash_bytes(text.encode())}


def test_builtin_hash_entry_rejects_an_unknown_data_set(capsys):
    assert sources.main(["builtin-hash", "nope", "20", "3"]) == 1
    assert capsys.readouterr().err == "error: unknown built-in data set 'nope'\n"


def test_plan_and_export_read_params_like_the_stages(tmp_path, capsys):
    assert plan_main(["x", "--root", str(tmp_path)]) == 1
    assert capsys.readouterr().err.startswith(f"error: {tmp_path / 'params.yaml'}: not found")
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "params.yaml").write_text("datasets: {}\nspecs: {}\n")
    assert export_main(["x", "--root", str(tmp_path), "--params-dir", str(tmp_path / "p")]) == 1
    assert capsys.readouterr().err == "error: params.yaml: specs.x: not found (known: none)\n"
