"""`repro diff A B` compares like with like: a side without lineage records (never built here,
or not in the local DVC cache) is compared by its resolved spec, its base chain resolved from
specs too; one changed field is one differing input whichever kinds A and B are; and every
answer ends in exactly one verdict line. Hand-made records over real compiled specs: fast."""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest
import yaml

from repro.cli import main
from tests.conftest import make_workspace
from tests.repro.results.lineage_fixtures import variant, write_result
from tests.specs import TINY_PRETRAIN, TINY_SFT

LR_CHANGED = TINY_SFT.replace("lr: 1.0e-3", "lr: 2.0e-3")
GIT_ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@t", "PATH": "/usr/bin:/bin"}


def _git(ws: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=ws, check=True, capture_output=True, env=GIT_ENV)


def _cache(ws: Path, rels: list[str]) -> dict[str, str]:
    """Put files in the DVC cache; their md5 by path (what dvc.lock names)."""
    outs = {}
    for rel in rels:
        raw = (ws / rel).read_bytes()
        md5 = hashlib.md5(raw).hexdigest()  # noqa: S324 - DVC's cache key
        cached = ws / ".dvc/cache/files/md5" / md5[:2] / md5[2:]
        cached.parent.mkdir(parents=True, exist_ok=True)
        cached.write_bytes(raw)
        outs[rel] = md5
    return outs


def _mlflow(ws: Path, specs: list[str]) -> dict[str, str]:
    """A local MLflow store (the tables repro reads) with a parent run per spec and a stage
    run per train/evaluate record, its files as artifacts; spec -> parent run id."""
    db = sqlite3.connect(ws / "mlflow.db")
    db.execute("create table runs (run_uuid text, artifact_uri text, status text, "
               "start_time integer)")
    db.execute("create table tags (key text, value text, run_uuid text)")
    parents = {}
    for i, spec in enumerate(specs):
        parent = hashlib.md5(f"p{spec}".encode()).hexdigest()  # noqa: S324 - an id
        parents[spec] = parent
        db.execute("insert into runs values (?, ?, 'FINISHED', ?)", (parent, "", i))
        db.executemany("insert into tags values (?, ?, ?)",
                       [("repro.spec", spec, parent), ("repro.role", "spec", parent)])
        for stage in ("train", "evaluate"):
            rid = hashlib.md5(f"{stage}{spec}".encode()).hexdigest()  # noqa: S324 - an id
            art = ws / "mlartifacts" / rid
            art.mkdir(parents=True)
            for name in (f"{stage}.lineage.json", f"{stage}.run.json", "metrics.json",
                         "train_metrics.json"):
                shutil.copy(ws / "runs" / spec / name, art / name)
            db.execute("insert into runs values (?, ?, 'FINISHED', ?)",
                       (rid, art.as_uri(), i))
            db.executemany("insert into tags values (?, ?, ?)", [
                ("repro.spec", spec, rid), ("repro.role", "stage", rid),
                ("repro.stage", stage, rid), ("mlflow.parentRunId", parent, rid)])
    db.commit()
    return parents


@pytest.fixture
def ws(tmp_path, monkeypatch) -> Path:
    """pre and sft (built on pre) built and committed with their records in the DVC cache;
    sft-same (an unbuilt copy of sft) and sft-lr (an unbuilt copy at twice the lr)."""
    ws = make_workspace(tmp_path / "ws", {"pre.yaml": TINY_PRETRAIN, "sft.yaml": TINY_SFT,
                                          "sft-same.yaml": TINY_SFT,
                                          "sft-lr.yaml": LR_CHANGED})
    monkeypatch.chdir(ws)
    assert main(["compile"]) == 0
    params = yaml.safe_load((ws / "params.yaml").read_text())
    for name, base in (("pre", None), ("sft", "pre")):
        spec = params["specs"][name]
        write_result(ws, name, variant(params=spec, dataset=params["datasets"][spec["data"]]),
                     base=base)
    files = [p.relative_to(ws).as_posix() for p in (ws / "runs").rglob("*.json")
             if not p.name.endswith(".run.json")]
    stages = {f"s{i}": {"cmd": "x", "outs": [{"path": p, "md5": m}]}
              for i, (p, m) in enumerate(_cache(ws, files).items())}
    (ws / "dvc.lock").write_text(json.dumps({"schema": "2.0", "stages": stages}))
    (ws / ".gitignore").write_text("/runs/\n/mlflow.db\n/mlartifacts/\n/.dvc/cache/\n")
    _git(ws, "init", "-q")
    _git(ws, "add", "-A")
    _git(ws, "commit", "-qm", "built")
    return ws


def run(capsys, *args: str) -> tuple[int, list[str], dict | None]:
    code = main(["diff", *args])
    out = capsys.readouterr().out
    return code, out.splitlines(), json.loads(out) if "--json" in args else None


def assert_one_verdict(lines: list[str]) -> str:
    verdicts = [line for line in lines if line.startswith("verdict:")]
    assert len(verdicts) == 1 and lines[-1] == verdicts[0], lines
    return verdicts[0]


def test_an_unbuilt_spec_against_a_built_identical_one(ws, capsys):
    """The issue's first case: no `base:` noise, identical specs, the unbuilt side named."""
    for a, b, side in (("sft", "sft-same", "B"), ("sft-same", "sft", "A")):
        code, lines, _ = run(capsys, a, b)
        assert code == 0
        verdict = assert_one_verdict(lines)
        assert verdict.startswith("verdict: identical specs; outputs not compared")
        assert f"{side} (sft-same) is unbuilt" in verdict and "`repro run sft-same`" in verdict
        assert any(line.startswith("specs identical (not compared: ") for line in lines)
        assert not any("differ" in line for line in lines[:-1])
    d = run(capsys, "--json", "sft", "sft-same")[2]
    assert d["inputs"] == [] and d["verdict"] == "outputs not compared"
    assert d["b"]["built"] is False and d["b"]["remedy"] == "`repro run sft-same`"
    assert "code" in d["not_compared"] and "hardware" in d["not_compared"]


ONE_FIELD = [
    ("sft", "sft-lr"),  # built workspace / unbuilt workspace
    ("sft-lr", "sft"),
    ("runs/sft", "sft-lr"),  # run directory / unbuilt
    ("HEAD:specs/sft.yaml", "sft-lr"),  # built at a revision (DVC cache) / unbuilt workspace
    ("HEAD:specs/sft-lr.yaml", "sft"),  # unbuilt at a revision / built workspace
    ("HEAD:specs/sft-lr.yaml", "runs/sft"),
    ("HEAD:specs/sft.yaml", "HEAD:specs/sft-lr.yaml"),  # revision / revision
    ("specs/sft.yaml", "specs/sft-lr.yaml"),  # spec files
    ("MLFLOW:sft", "sft-lr"),  # an MLflow parent run / unbuilt
    ("MLFLOW:sft", "HEAD:specs/sft-lr.yaml"),
]


@pytest.mark.parametrize(("a", "b"), ONE_FIELD)
def test_one_changed_field_is_one_input_in_every_combination(ws, capsys, a, b):
    runs = _mlflow(ws, ["pre", "sft"])
    a, b = (runs[x[7:]] if x.startswith("MLFLOW:") else x for x in (a, b))
    code, lines, _ = run(capsys, a, b)
    assert code == 0
    verdict = assert_one_verdict(lines)
    assert verdict.startswith("verdict: inputs differ: 1 input(s) (spec 1)"), verdict
    d = run(capsys, "--json", a, b)[2]
    assert [i["key"] for i in d["inputs"]] == ["spec.train.optimizer.lr"]
    assert {d["a"]["built"], d["b"]["built"]} == {True, False} or a.startswith("HEAD:specs/sft.")


def test_a_base_spec_change_is_collapsed_under_its_name(ws, capsys):
    """sft against sft in a workspace whose pre changed: one row, `base pre`."""
    (ws / "specs/pre.yaml").write_text(TINY_PRETRAIN.replace("max_steps: 30", "max_steps: 40"))
    code, lines, _ = run(capsys, "HEAD:specs/sft.yaml", "sft-same")
    assert code == 0
    rows = [line for line in lines if line.startswith("base pre")]
    assert rows == [rows[0]] and "1 field(s): spec.train.max_steps" in rows[0]
    assert assert_one_verdict(lines).startswith("verdict: inputs differ: 1 input(s) "
                                                "(base pre 1)")
    _, expanded, _ = run(capsys, "--expand", "HEAD:specs/sft.yaml", "sft-same")
    assert any("base:pre:spec.train.max_steps" in line and "30" in line and "40" in line
               for line in expanded)


def test_records_not_in_the_cache_say_how_to_fetch_them(ws, capsys):
    shutil.rmtree(ws / ".dvc/cache")
    code, lines, d = run(capsys, "--json", "HEAD:specs/sft.yaml", "sft")
    assert code == 0 and d["inputs"] == []
    assert "not in the local DVC cache" in d["a"]["missing"]
    assert "dvc fetch" in d["a"]["remedy"] or "dvc pull" in d["a"]["remedy"]


def test_a_spec_not_yet_compiled_is_compiled_in_memory(ws, capsys):
    (ws / "specs/sft-new.yaml").write_text(LR_CHANGED)  # no `repro compile` since
    code, lines, d = run(capsys, "--json", "sft", "sft-new")
    assert code == 0 and [i["key"] for i in d["inputs"]] == ["spec.train.optimizer.lr"]
    assert "sft-new" not in (ws / "params.yaml").read_text()  # nothing written


def test_no_such_spec_at_a_revision_says_what_to_check(ws, capsys):
    assert main(["diff", "HEAD:specs/nope.yaml", "sft"]) == 2
    err = capsys.readouterr().err
    assert "no spec 'nope'" in err and "repro compile" in err


@pytest.mark.parametrize("variant_", ["identical", "failure", "inputs"])
def test_the_verdict_line_is_last_and_unique(tmp_path, capsys, variant_):
    from tests.repro.results.lineage_fixtures import BASE

    write_result(tmp_path / "a")
    other = {"identical": BASE, "failure": variant(model="weights-2"),
             "inputs": variant(python="3.12.1")}[variant_]
    write_result(tmp_path / "b", "s", other)
    code, lines, _ = run(capsys, str(tmp_path / "a/runs/s"), str(tmp_path / "b/runs/s"))
    verdict = assert_one_verdict(lines)
    assert code == (1 if variant_ == "failure" else 0)
    assert {"identical": "verdict: identical", "failure": "verdict: REPRODUCIBILITY FAILURE",
            "inputs": "verdict: inputs differ: 1 input(s) (packages 1); outputs identical"
            }[variant_] in verdict


def test_specs_a_spec_reads_are_resolved_once_each():
    """Bases up the chain are `base:`, any other spec named (a GRPO reward model) `uses:`;
    a spec that cannot be read is reported, not compared."""
    from repro.results.unbuilt import catalog_lookup, upstream_specs

    catalog = {"specs": {
        "pre": {"data": "d1"},
        "sft": {"data": "d2", "model": {"base": {"spec": "pre"}}},
        "rm": {"data": "d3", "model": {"base": {"spec": "sft"}}},
        "grpo": {"data": "d2", "model": {"base": {"spec": "sft"}},
                 "train": {"reward": [{"spec": "rm", "weight": 0.5}, {"spec": "gone"}]}},
    }, "datasets": {"d1": {"x": 1}, "d2": {"x": 2}, "d3": {"x": 3}}}
    found, missing = upstream_specs(catalog["specs"]["grpo"], catalog_lookup(catalog))
    assert [(p, d) for p, _, _, d in found] == [
        ("base:sft:", {"x": 2}), ("uses:rm:", {"x": 3}), ("base:pre:", {"x": 1})]
    assert missing == {"gone"}
