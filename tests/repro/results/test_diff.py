"""`repro diff` and `repro lineage` over hand-made records (fast); real records: tests/runners."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import pytest

from repro.cli import main
from repro.errors import ReproError
from repro.results.ancestry import ancestry, walk
from repro.results.diff import compare
from repro.results.result import load_result
from tests.repro.results.lineage_fixtures import BASE, variant, write_result


def _diff(tmp_path: Path, b: dict) -> list[str]:
    write_result(tmp_path / "a", "s", BASE)
    write_result(tmp_path / "b", "s", b)
    d = compare(load_result(str(tmp_path / "a/runs/s")), load_result(str(tmp_path / "b/runs/s")))
    return [i["key"] for i in d.inputs]


def test_identical_results(tmp_path, capsys):
    write_result(tmp_path / "a")
    write_result(tmp_path / "b")
    assert main(["diff", str(tmp_path / "a/runs/s"), str(tmp_path / "b/runs/s")]) == 0
    out = capsys.readouterr().out
    assert "inputs: identical" in out and "identical: same inputs, same outputs" in out


def test_one_spec_field_is_named(tmp_path):
    params = copy.deepcopy(BASE["params"])
    params["train"]["optimizer"]["lr"] = 0.002
    assert _diff(tmp_path, variant(params=params)) == ["spec.train.optimizer.lr"]


def test_the_seed_is_named_once(tmp_path):
    """The data section inherits the spec's seed: one change, one line."""
    params = copy.deepcopy(BASE["params"])
    params["seed"] = 8
    dataset = dict(BASE["dataset"], seed=8)
    assert _diff(tmp_path, variant(params=params, dataset=dataset)) == ["spec.seed"]


def test_raw_data_and_package_changes_are_named(tmp_path):
    assert _diff(tmp_path, variant(raw="raw-2", data_hash="data-2")) == ["data.raw_hash"]
    assert _diff(tmp_path, variant(packages={"numpy": "2.4.7", "torch": "2.13.0"})) == [
        "env.numpy"]
    assert _diff(tmp_path, variant(code={"runners/train.py": "c9", "repro/contract/paths.py": "c2"})) == [
        "code.runners/train.py"]
    hw = dict(BASE["hardware"], gpus=["NVIDIA H100"])
    assert _diff(tmp_path, variant(hardware=hw)) == ["hardware.gpus"]


def test_commit_is_provenance_not_an_input(tmp_path):
    write_result(tmp_path / "a")
    write_result(tmp_path / "b", "s", variant(commit="b" * 40))
    d = compare(load_result(str(tmp_path / "a/runs/s")), load_result(str(tmp_path / "b/runs/s")))
    assert d.verdict == "identical"
    assert any(p["key"].endswith("git.commit") for p in d.provenance)


def test_same_inputs_different_outputs_is_loud(tmp_path, capsys):
    write_result(tmp_path / "a")
    write_result(tmp_path / "b", "s", variant(model="weights-2",
                                              metrics={"perplexity": 2.6, "n_examples": 20}))
    code = main(["diff", str(tmp_path / "a/runs/s"), str(tmp_path / "b/runs/s")])
    out = capsys.readouterr().out
    assert code == 1
    assert "REPRODUCIBILITY FAILURE" in out
    assert "metrics.perplexity" in out and "+0.1" in out


def test_json_lists_inputs_and_metric_deltas(tmp_path, capsys):
    write_result(tmp_path / "a")
    params = copy.deepcopy(BASE["params"])
    params["train"]["max_steps"] = 40
    write_result(tmp_path / "b", "s", variant(params=params, model="weights-2",
                                              metrics={"perplexity": 2.0, "n_examples": 20}))
    assert main(["diff", "--json", str(tmp_path / "a/runs/s"), str(tmp_path / "b/runs/s")]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["verdict"] == "inputs differ"
    assert d["inputs"] == [{"key": "spec.train.max_steps", "a": 20, "b": 40}]
    ppl = next(m for m in d["metrics"] if m["key"] == "metrics.perplexity")
    assert ppl["delta"] == pytest.approx(-0.5)


def test_lineage_walks_the_chain_and_flags_changed_records(tmp_path, capsys):
    d = write_result(tmp_path)
    result = load_result(str(d))
    roles = [role for role, _ in walk(ancestry(result))]
    assert roles[:3] == ["result", "result/model", "result/model/data"]
    assert main(["lineage", "--json", str(d)]) == 0
    tree = json.loads(capsys.readouterr().out)["tree"]
    assert tree["inputs"]["model"]["record"]["stage"] == "train"
    assert tree["inputs"]["model"]["inputs"]["data"]["record"]["stage"] == "prepare"
    # a pointed-to record that changed afterwards is flagged
    (d / "train.lineage.json").write_text((d / "train.lineage.json").read_text() + " ")
    assert main(["lineage", str(d)]) == 0
    assert "CHANGED since it was pointed to" in capsys.readouterr().out


def test_a_stale_run_record_is_ignored(tmp_path):
    d = write_result(tmp_path)
    run = json.loads((d / "train.run.json").read_text())
    run["record"]["sha256"] = "0" * 64
    (d / "train.run.json").write_text(json.dumps(run))
    result = load_result(str(d))
    assert "train" not in result.runs and "evaluate" in result.runs
    assert any("earlier execution" in n for n in result.notes)


def _git(cwd: Path, *args: str) -> str:
    out = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True,
                         env={"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t",
                              "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t",
                              "PATH": "/usr/bin:/bin"})
    return out.stdout


def test_git_revision_reads_records_through_dvc_lock_and_cache(tmp_path, monkeypatch):
    """REV:specs/s.yaml: the records that revision's dvc.lock names, from the DVC cache."""
    import hashlib

    ws = tmp_path / "ws"
    (ws / "specs").mkdir(parents=True)
    (ws / "specs/s.yaml").write_text("seed: 7\n")
    (ws / ".dvc").mkdir()
    src = tmp_path / "built"
    write_result(src)
    outs = {}
    for rel in ("runs/s/train.lineage.json", "runs/s/evaluate.lineage.json", "runs/s/metrics.json"):
        raw = (src / rel).read_bytes()
        md5 = hashlib.md5(raw).hexdigest()  # noqa: S324 - DVC's cache key
        cached = ws / ".dvc/cache/files/md5" / md5[:2] / md5[2:]
        cached.parent.mkdir(parents=True, exist_ok=True)
        cached.write_bytes(raw)
        outs[rel] = md5
    stages = {f"x{i}": {"cmd": "x", "outs": [{"path": p, "md5": m}]}
              for i, (p, m) in enumerate(outs.items())}
    (ws / "dvc.lock").write_text(json.dumps({"schema": "2.0", "stages": stages}))
    _git(ws, "init", "-q")
    _git(ws, "add", "-A")
    _git(ws, "commit", "-qm", "one")
    (ws / "specs/s.yaml").write_text("seed: 8\n")
    _git(ws, "commit", "-qam", "two")
    monkeypatch.chdir(ws)
    old = load_result("HEAD~1:specs/s.yaml")
    assert set(old.records) == {"train", "evaluate"}
    assert old.metrics == BASE["metrics"]
    # the prepare record is not in that cache: the chain stops there, without error
    roles = [role for role, _ in walk(ancestry(old))]
    assert "result/model" in roles
    with pytest.raises(ReproError, match="not a git revision"):
        load_result("nope~9:specs/s.yaml")


def test_unknown_result_is_a_user_error(tmp_path, monkeypatch, capsys):
    (tmp_path / "specs").mkdir()
    monkeypatch.chdir(tmp_path)
    assert main(["diff", "nothing", "else"]) == 2
    assert "nothing: not a spec, run directory" in capsys.readouterr().err


def test_diff_imports_no_ml_stack(tmp_path):
    write_result(tmp_path / "a")
    write_result(tmp_path / "b")
    code = (
        "import sys, os\nfrom repro.cli import main\n"
        f"os.chdir({str(tmp_path / 'a')!r})\n"
        f"rc = main(['diff', 's', {str(tmp_path / 'b/runs/s')!r}])\n"
        "heavy = [m for m in ('torch', 'transformers', 'mlflow', 'dvc', 'numpy')"
        " if m in sys.modules]\n"
        "print('HEAVY', heavy, rc)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "HEAVY [] 0" in out.stdout


def test_a_record_one_side_cannot_reach_is_not_compared(tmp_path):
    """An MLflow result has no prepare records: the prepare stage's code is not a difference."""
    write_result(tmp_path / "a")
    write_result(tmp_path / "b")
    key = BASE["params"]["data"]
    (tmp_path / f"b/runs/_data/{key}/lineage.json").unlink()
    d = compare(load_result(str(tmp_path / "a/runs/s")), load_result(str(tmp_path / "b/runs/s")))
    assert d.inputs == [] and d.verdict == "identical"
    assert "code and environment of result/model/data (one side only)" in d.not_compared
