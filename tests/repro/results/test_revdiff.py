"""`repro diff REV [REV]`: every result added, removed or changed between two revisions, with
its causes and metric deltas, from dvc.lock and the DVC cache; and on the shipped pipeline
(a scratch copy with a synthetic commit), exactly the affected specs, in under 2 s."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from repro.cli import main
from tests.conftest import ROOT, make_workspace
from tests.specs import TINY_PRETRAIN, TINY_SFT

GIT_ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@t", "PATH": "/usr/bin:/bin"}


def _git(ws: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=ws, check=True, capture_output=True, env=GIT_ENV)


def _md5(raw: bytes) -> str:
    return hashlib.md5(raw).hexdigest()  # noqa: S324 - DVC's hash


def _param(params: dict, key: str):
    for part in key.split("."):
        params = params[part]
    return params


def fake_build(ws: Path, perplexity: dict[str, float]) -> None:
    """What `dvc repro` leaves, without training: a dvc.lock recording every stage's deps and
    params as they are now, outs whose md5 follow from them, and each metrics.json (its
    perplexity given per spec) in runs/ and the DVC cache."""
    stages = yaml.safe_load((ws / "dvc.yaml").read_text())["stages"]
    params = yaml.safe_load((ws / "params.yaml").read_text())
    lock: dict[str, dict] = {}
    made: dict[str, str] = {}  # out path -> md5
    while len(lock) < len(stages):
        for name, st in stages.items():
            deps = st.get("deps", [])
            if name in lock or any(d.startswith("runs/") and d not in made for d in deps):
                continue
            dep_md5 = {d: made[d] if d in made else _md5((ws / d).read_bytes()) for d in deps}
            values = {k: _param(params, k) for k in st.get("params", [])}
            seed = json.dumps([name, dep_md5, values], sort_keys=True, default=str)
            outs = []
            for o in st.get("outs", []) + st.get("metrics", []):
                o = o if isinstance(o, str) else next(iter(o))
                if o.endswith("/metrics.json"):
                    spec = name.split("-", 1)[1]
                    raw = json.dumps({"perplexity": perplexity[spec]}).encode()
                    (ws / o).parent.mkdir(parents=True, exist_ok=True)
                    (ws / o).write_bytes(raw)
                    md5 = _md5(raw)
                    cached = ws / ".dvc/cache/files/md5" / md5[:2] / md5[2:]
                    cached.parent.mkdir(parents=True, exist_ok=True)
                    cached.write_bytes(raw)
                else:
                    md5 = _md5((seed + o).encode())
                made[o] = md5
                outs.append({"path": o, "hash": "md5", "md5": md5})
            lock[name] = {"cmd": st["cmd"],
                          "deps": [{"path": d, "hash": "md5", "md5": m} for d, m in dep_md5.items()],
                          "params": {"params.yaml": values}, "outs": outs}
    (ws / "dvc.lock").write_text(yaml.safe_dump({"schema": "2.0", "stages": lock}))


@pytest.fixture
def ws(tmp_path, monkeypatch) -> Path:
    ws = make_workspace(tmp_path / "ws", {"pre.yaml": TINY_PRETRAIN, "sft.yaml": TINY_SFT})
    monkeypatch.chdir(ws)
    assert main(["compile"]) == 0
    fake_build(ws, {"pre": 6.0, "sft": 3.0})
    (ws / ".gitignore").write_text("/runs/\n/.dvc/cache/\n")
    _git(ws, "init", "-q")
    _git(ws, "add", "-A")
    _git(ws, "commit", "-qm", "one")
    return ws


def diff_json(capsys, *revs: str) -> tuple[int, dict]:
    capsys.readouterr()  # what `repro compile` printed
    code = main(["diff", "--json", *revs])
    return code, json.loads(capsys.readouterr().out)


def by_spec(d: dict) -> dict[str, dict]:
    return {r["spec"]: r for r in d["results"] if r["status"] != "unchanged"}


def test_a_rebuilt_change_lists_causes_and_metric_deltas(ws, capsys):
    (ws / "specs/pre.yaml").write_text(TINY_PRETRAIN.replace("max_steps: 30", "max_steps: 40"))
    assert main(["compile"]) == 0
    fake_build(ws, {"pre": 5.5, "sft": 2.5})
    _git(ws, "commit", "-qam", "two")
    code, d = diff_json(capsys, "HEAD~1", "HEAD")
    assert code == 0
    changed = by_spec(d)
    assert set(changed) == {"pre", "sft"}
    assert changed["pre"]["causes"] == {"spec": ["spec.train.max_steps"]}
    assert changed["sft"]["causes"] == {"base pre": ["base:pre:spec.train.max_steps"]}
    ppl = {r["spec"]: next(m for m in r["metrics"] if m["key"] == "metrics.perplexity")
           for r in changed.values()}
    assert ppl["pre"]["delta"] == pytest.approx(-0.5) and ppl["sft"]["delta"] == pytest.approx(-0.5)
    assert changed["pre"]["built"] == {"a": "fresh", "b": "fresh"}
    assert d["verdict_line"].startswith("verdict: 2 result(s) changed (0 added, 0 removed, "
                                        "2 changed), 0 unchanged")


def test_a_change_not_rebuilt_yet_and_outputs_not_local(ws, capsys):
    """The workspace against HEAD before `repro run`: stale, said once with the remedy."""
    (ws / "specs/sft.yaml").write_text(TINY_SFT.replace("max_steps: 20", "max_steps: 25"))
    assert main(["compile"]) == 0
    shutil.rmtree(ws / ".dvc/cache")
    code = main(["diff", "HEAD"])
    lines = capsys.readouterr().out.splitlines()
    assert code == 0
    assert [line for line in lines if line.startswith("changed: ")] == [
        "changed: sft  (inputs differ: spec 1; A not local, B stale)"]
    notes = [line for line in lines if line.startswith("outputs not compared")]
    assert len(notes) == 2
    assert notes[0].startswith("outputs not compared for 1 result(s): A (HEAD") and \
        "not in the local DVC cache: sft;" in notes[0] and "dvc fetch" in notes[0]
    assert "B (workspace" in notes[1] and notes[1].endswith("`repro run sft`")
    # HEAD built sft, but its outputs are gone; the workspace changed sft since its build
    assert lines[-1] == "verdict: 1 result(s) changed (0 added, 0 removed, 1 changed), " \
                        "1 unchanged"
    assert sum(line.startswith("verdict:") for line in lines) == 1


def test_added_and_removed_specs(ws, capsys):
    (ws / "specs/sft.yaml").rename(ws / "specs/sft2.yaml")
    assert main(["compile"]) == 0
    _git(ws, "add", "-A")
    _git(ws, "commit", "-qm", "renamed")
    code, d = diff_json(capsys, "HEAD~1", "HEAD")
    assert {s: r["status"] for s, r in by_spec(d).items()} == {"sft": "removed",
                                                               "sft2": "added"}
    md = main(["diff", "--md", "HEAD~1", "HEAD"])
    out = capsys.readouterr().out
    assert md == 0 and "| `sft2` | added |" in out and out.strip().splitlines()[-1].startswith(
        "**verdict: 2 result(s) changed")


def test_same_inputs_different_outputs_between_revisions_is_loud(ws, capsys):
    fake_build(ws, {"pre": 6.0, "sft": 3.0})
    lock = (ws / "dvc.lock").read_text()
    old = yaml.safe_load(lock)["stages"]["train-pre"]["outs"][0]["md5"]
    (ws / "dvc.lock").write_text(lock.replace(old, "0" * 32))  # another machine's weights
    code = main(["diff", "HEAD"])
    lines = capsys.readouterr().out.splitlines()
    assert code == 1
    assert "REPRODUCIBILITY FAILURE: same inputs, different outputs: pre" in lines[-1]


def test_a_result_and_a_revision_cannot_be_mixed(ws, capsys):
    assert main(["diff", "pre", "HEAD"]) == 2
    assert "HEAD: a git revision" in capsys.readouterr().err


def test_shipped_pipeline_one_field_and_one_runner_file(tmp_path, capsys, monkeypatch):
    """A scratch copy of the shipped pipeline, and a commit changing tiny-pretrain's
    max_steps and the DPO runner: exactly tiny-pretrain, the specs built on it, and the DPO specs,
    with those two causes; in under 2 s."""
    ws = tmp_path / "shipped"
    for item in ("specs", "repro", "runners", "human", "tasks"):  # what the stages read
        if (ROOT / item).is_dir():
            shutil.copytree(ROOT / item, ws / item, ignore=shutil.ignore_patterns("__pycache__"))
    for item in ("params.yaml", "dvc.yaml", "dvc.lock", "env.lock"):
        shutil.copy(ROOT / item, ws / item)
    _git(ws, "init", "-q")
    _git(ws, "add", "-A")
    _git(ws, "commit", "-qm", "shipped")
    monkeypatch.chdir(ws)
    spec = ws / "specs/tiny-pretrain.yaml"
    text = spec.read_text()
    steps = yaml.safe_load(text)["train"]["max_steps"]
    spec.write_text(text.replace(f"max_steps: {steps}", f"max_steps: {steps + 100}"))
    assert main(["compile"]) == 0
    capsys.readouterr()
    _git(ws, "checkout", "env.lock")  # this interpreter's packages are not the point
    runner = ws / "runners/methods/dpo.py"
    runner.write_text(runner.read_text() + "# a comment\n")
    _git(ws, "commit", "-qam", "one field, one runner")

    start = time.perf_counter()
    code, d = diff_json(capsys, "HEAD~1", "HEAD")
    took = time.perf_counter() - start
    assert code == 0 and took < 2.0, took
    params = yaml.safe_load((ws / "params.yaml").read_text())["specs"]

    def on_pretrain(name: str) -> bool:
        while name:
            if name == "tiny-pretrain":
                return True
            name = ((params[name].get("model") or {}).get("base") or {}).get("spec")
        return False

    def uses_dpo(name: str) -> bool:  # trl-dpo, and any sweep over a DPO spec
        return (params[name].get("train") or {}).get("method") == "dpo"

    changed = by_spec(d)
    expected = {n for n in params if on_pretrain(n) or uses_dpo(n)}
    assert "trl-dpo" in expected
    assert set(changed) == expected and len(expected) < len(params)
    for name, r in changed.items():
        causes = {k for keys in r["causes"].values() for k in keys}
        want = set()
        if on_pretrain(name):
            want.add("spec.train.max_steps" if name == "tiny-pretrain"
                     else "base:tiny-pretrain:spec.train.max_steps")
        if uses_dpo(name):
            want.add("code.runners/methods/dpo.py")
        assert causes == want, (name, r["causes"])
    assert all(r["status"] == "changed" for r in changed.values())


def test_the_fast_lock_reader_reads_what_yaml_reads():
    """DVC's own layout is read without YAML for deps and outs; any other layout falls back."""
    from repro.results.snapshot import _fast_lock, parse_lock

    def plain(stages: dict) -> dict:
        return {name: {**st, **{sec: [{k: str(v) for k, v in e.items()} for e in st[sec]]
                                for sec in ("deps", "outs") if sec in st}}
                for name, st in stages.items()}

    text = (ROOT / "dvc.lock").read_text()
    full = yaml.safe_load(text)["stages"]
    assert _fast_lock(text) is not None
    assert plain(parse_lock(text.encode())) == plain(full)
    other = yaml.safe_dump({"schema": "2.0", "stages": full}, indent=4)
    assert _fast_lock(other) is None and plain(parse_lock(other.encode())) == plain(full)
