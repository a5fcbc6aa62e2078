"""`repro upgrade`: older spec files rewritten in place, comments kept, same compiled spec."""

from __future__ import annotations

from repro.cli import main
from repro.pipeline.compiler import compile_workspace
from repro.spec.migrate import upgrade_text
from repro.spec.workspace import load_workspace
from tests.conftest import make_workspace

BASE_V1 = """\
# shared settings (a comment that must survive)
spec_version: 1
seed: 7
data:
  source: {builtin: arithmetic, size: 200}
  format: instruction
  tokenizer: {kind: bpe, vocab_size: 300}
  clean:
    dedupe: true   # drop repeated questions
    min_chars: 1
"""
CHILD = """\
# the child: extends a v1 base
extends: _base/b.yaml
model:
  base:
    config: {hidden_size: 32, intermediate_size: 64, num_hidden_layers: 1, num_attention_heads: 2}
train:
  method: sft
  max_steps: 5   # tiny
tracking: {mlflow: false}
"""


def _ws(tmp_path):
    ws = make_workspace(tmp_path, {"_base/b.yaml": BASE_V1, "child.yaml": CHILD})
    return ws


def test_upgrade_text_keeps_comments_and_layout():
    new, changes = upgrade_text(BASE_V1)
    assert changes == ["data.clean.dedupe: true -> exact", "spec_version: 1 -> 2"]
    assert new == BASE_V1.replace("spec_version: 1", "spec_version: 2").replace(
        "dedupe: true ", "dedupe: exact")
    assert upgrade_text(new) == (new, [])


def test_a_current_spec_may_extend_an_older_base(tmp_path):
    (entry,) = [e for e in load_workspace(_ws(tmp_path)) if e.name == "child"]
    assert entry.ok, [e.format() for e in entry.errors]
    assert entry.spec.data.clean.dedupe == "exact"


def test_upgrade_rewrites_every_file_and_compiles_the_same(tmp_path, capsys):
    ws = _ws(tmp_path)
    before = compile_workspace(ws, load_workspace(ws)).params_yaml
    assert main(["-C", str(ws), "upgrade", "--check"]) == 1
    assert (ws / "specs/_base/b.yaml").read_text() == BASE_V1  # --check writes nothing
    assert main(["-C", str(ws), "upgrade"]) == 0
    out = capsys.readouterr().out
    assert "specs/_base/b.yaml: upgraded: data.clean.dedupe: true -> exact" in out
    base = (ws / "specs/_base/b.yaml").read_text()
    assert "# shared settings" in base and "dedupe: exact  # drop repeated questions" in base
    child = (ws / "specs/child.yaml").read_text()
    assert child.startswith("# the child: extends a v1 base\nspec_version: 2\nextends:")
    assert "max_steps: 5   # tiny" in child
    assert compile_workspace(ws, load_workspace(ws)).params_yaml == before
    assert main(["-C", str(ws), "upgrade", "--check"]) == 0


def test_upgrade_one_spec_takes_its_extends_chain(tmp_path, capsys):
    ws = _ws(tmp_path)
    (ws / "specs/other.yaml").write_text(CHILD)
    assert main(["-C", str(ws), "upgrade", "child"]) == 0
    assert "spec_version: 2" in (ws / "specs/_base/b.yaml").read_text()
    assert (ws / "specs/other.yaml").read_text() == CHILD
    assert main(["-C", str(ws), "upgrade", "nope"]) == 2
    assert "no spec named 'nope'" in capsys.readouterr().err


def test_a_file_without_spec_version_has_its_bases_version(tmp_path, capsys):
    """`upgrade --check` and loading agree: the shipped specs inherit 2 from _base/tiny.yaml."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[3]
    assert main(["-C", str(root), "upgrade", "--check"]) == 0
    assert "already at spec_version 2" in capsys.readouterr().out
    ws = make_workspace(tmp_path, {"_base/b.yaml": BASE_V1.replace("spec_version: 1", "spec_version: 2")
                                   .replace("dedupe: true", "dedupe: exact"), "child.yaml": CHILD})
    assert main(["-C", str(ws), "upgrade", "--check"]) == 0
    (entry,) = [e for e in load_workspace(ws) if e.name == "child"]
    assert entry.ok and entry.doc.version == 2
