"""The confinement rule: every path a spec names stays inside the workspace, or is a named,
hash-pinned external entry of repro.yaml."""

from __future__ import annotations

import pytest

from repro.contract.paths import PathRefused, confine, external_entry, spec_path

PIN = "blake3:" + "ab" * 32


def test_paths_inside_the_workspace_resolve(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "x.jsonl").write_text("{}\n")
    assert confine(tmp_path, "data/x.jsonl") == (tmp_path / "data" / "x.jsonl").resolve()
    assert confine(tmp_path, "data/../data/x.jsonl") == (tmp_path / "data" / "x.jsonl").resolve()
    assert confine(tmp_path, str(tmp_path / "data")) == (tmp_path / "data").resolve()


@pytest.mark.parametrize(("rel", "why"), [
    ("/etc/passwd", "an absolute path"),
    ("../x.jsonl", "through '..'"),
    ("data/../../x", "through '..'"),
    ("~/x", "an absolute path"),
])
def test_paths_leaving_the_workspace_are_refused_by_name(tmp_path, rel, why):
    ws = tmp_path / "ws"
    ws.mkdir()
    with pytest.raises(PathRefused, match=why) as e:
        confine(ws, rel)
    assert "external_data" in e.value.hint and "repro.yaml" in e.value.hint


def test_a_symlink_leading_out_is_refused(tmp_path):
    ws = tmp_path / "ws"
    (ws / "data").mkdir(parents=True)
    (tmp_path / "secret").write_text("s")
    (ws / "data" / "link").symlink_to(tmp_path / "secret")
    (ws / "data" / "dir").symlink_to(tmp_path)
    (ws / "data" / "inside").symlink_to(ws / "data")
    with pytest.raises(PathRefused, match="a symlink leads to"):
        confine(ws, "data/link")
    with pytest.raises(PathRefused, match="a symlink leads to"):
        confine(ws, "data/dir/secret")
    assert confine(ws, "data/inside") == (ws / "data").resolve()


def test_external_data_needs_a_named_entry_with_a_pinned_hash(tmp_path):
    with pytest.raises(PathRefused, match="no repro.yaml"):
        spec_path(tmp_path, "external:corpus")
    (tmp_path / "repro.yaml").write_text("external_data:\n  corpus: {path: /srv/c.jsonl}\n")
    with pytest.raises(PathRefused, match="no pinned hash") as e:
        spec_path(tmp_path, "external:corpus")
    assert "repro pin --external corpus" in e.value.hint
    with pytest.raises(PathRefused, match="not named under external_data"):
        spec_path(tmp_path, "external:other")
    (tmp_path / "repro.yaml").write_text(f"external_data:\n  corpus: {{path: c, hash: {PIN}}}\n")
    with pytest.raises(PathRefused, match="must be an absolute path"):
        spec_path(tmp_path, "external:corpus")
    (tmp_path / "repro.yaml").write_text(
        f"external_data:\n  corpus: {{path: /srv/c.jsonl, hash: {PIN}}}\n")
    assert str(spec_path(tmp_path, "external:corpus")) == "/srv/c.jsonl"
    assert external_entry(tmp_path, "corpus")["hash"] == PIN
    (tmp_path / "repro.yaml").write_text("external_data: [\n")
    with pytest.raises(PathRefused, match="not valid YAML"):
        spec_path(tmp_path, "external:corpus")
