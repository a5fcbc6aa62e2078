"""``repro verify SPEC|RESULT``: rebuild a result from scratch and prove it comes out the same.

1. Read the result's records; the run record names the git commit it was built at
   (and whether the tree was dirty, with a hash of the uncommitted diff).
2. Make a scratch copy of the workspace at that commit (``git worktree`` would share
   the index; a plain ``git clone --shared`` of the commit is independent), applying
   the uncommitted diff when the record was dirty and this workspace still has the
   very same diff (checked by its hash).
3. Write ``env.lock`` for the environment of now, then ``dvc repro`` the result's stage
   there, on the ``params.yaml`` it was built from (not recompiled, so ``--set``
   overrides survive): every stage it needs, from nothing, with its own DVC cache and
   MLflow store (thrown away afterwards).
4. Compare: on the same hardware, bit for bit (the hash of every output: weights,
   metrics, logs, prepared data); on other hardware, metrics within a tolerance that is
   printed, since float reductions are allowed to differ there.

Exit 0 only when the result was reproduced.
"""

from __future__ import annotations

import math
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from repro.contract import envlock, paths
from repro.contract.git import diff_sha256, head, uncommitted_diff
from repro.contract.records.run import GitState, Hardware
from repro.errors import ReproError, ReproFailure
from repro.results.result import Result, load_result
from repro.results.sources import WorkspaceSource

REL_TOL = 1e-3
ABS_TOL = 1e-5


@dataclass
class Verification:
    spec: str
    commit: str | None
    scratch: str
    same_hardware: bool
    reproduced: bool
    diff: Any = None
    mismatches: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    log: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "spec": self.spec, "commit": self.commit, "scratch": self.scratch,
            "same_hardware": self.same_hardware, "reproduced": self.reproduced,
            "mode": "bitwise" if self.same_hardware else
            f"tolerance (rel {REL_TOL}, abs {ABS_TOL})",
            "mismatches": self.mismatches, "notes": self.notes,
            "diff": self.diff.as_dict() if self.diff is not None else None,
        }


def _recorded_git(result: Result) -> GitState:
    for stage in ("evaluate", "train"):
        run = result.runs.get(stage)
        if run and run.git.commit:
            return run.git
    return GitState()


def _hardware_key(result: Result) -> tuple:
    run = result.runs.get("train")
    hw = run.hardware if run else Hardware()
    return (hw.machine, hw.cpu, tuple(hw.gpus), hw.torch_threads)


def _run(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False)


def make_scratch(root: Path, commit: str, dirty: bool, diff_sha: str | None, into: Path,
                 notes: list[str]) -> Path:
    """A fresh checkout of ``commit`` in ``into`` (plus the recorded uncommitted diff)."""
    scratch = into / "workspace"
    p = _run(["git", "clone", "-q", "--shared", "--no-checkout", str(root), str(scratch)], into)
    if p.returncode != 0:
        raise ReproError(f"cannot clone {root} for the scratch copy: {p.stderr.strip()}")
    p = _run(["git", "-c", "advice.detachedHead=false", "checkout", "-q", commit], scratch)
    if p.returncode != 0:
        raise ReproError(f"cannot check out {commit[:12]} in the scratch copy: {p.stderr.strip()}")
    if dirty:
        diff = uncommitted_diff(root, binary=True)
        plain = uncommitted_diff(root)
        if head(root) != commit or not plain or diff_sha256(plain) != diff_sha:
            raise ReproError(
                "the result was built from uncommitted changes that this workspace no longer "
                "has (diff hash differs); commit them, rebuild, then verify"
            )
        p = subprocess.run(["git", "apply", "--whitespace=nowarn", "-"], cwd=scratch,
                           input=diff, text=True, capture_output=True, check=False)
        if p.returncode != 0:
            raise ReproError(f"cannot apply the uncommitted diff in the scratch copy: "
                             f"{p.stderr.strip()}")
        notes.append("applied the uncommitted diff the result was built with "
                     f"(sha256 {diff_sha[:12]})")
    return scratch


def compare_tolerant(a: Result, b: Result) -> list[dict[str, Any]]:
    from repro.results.diff import facts

    fa, fb = facts(a), facts(b)
    out = []
    for key in sorted(set(fa.metrics) | set(fb.metrics)):
        va, vb = fa.metrics.get(key), fb.metrics.get(key)
        if va is None or vb is None or not math.isclose(va, vb, rel_tol=REL_TOL, abs_tol=ABS_TOL):
            out.append({"key": key, "a": va, "b": vb})
    return out


def verify(root: Path, target: str, keep: bool = False, say=print) -> Verification:
    from repro.results.diff import compare

    original = load_result(target, root)
    if not isinstance(original.source, WorkspaceSource):
        raise ReproError(f"{target}: verify rebuilds results of this workspace (a spec name, "
                         "spec file or run directory)")
    if not original.records:
        raise ReproError(f"{target}: no lineage records; build it first ('repro run {original.spec}')")
    root = original.source.root
    g = _recorded_git(original)
    notes: list[str] = []
    commit = g.commit
    if not commit:
        commit = head(root)
        if commit is None:
            raise ReproError(f"{root}: not a git repository with a commit; verify rebuilds from "
                             "a commit")
        notes.append(f"no run record names a commit: rebuilding at HEAD ({commit[:12]})")
    tmp = Path(tempfile.mkdtemp(prefix="repro-verify-"))
    try:
        scratch = make_scratch(root, commit, bool(g.dirty), g.diff_sha256, tmp, notes)
        if not (scratch / ".dvc").is_dir():
            raise ReproError(f"commit {commit[:12]} has no .dvc/ folder: nothing to rebuild with")
        # the environment as it is now (so a package difference shows up in the comparison),
        # then DVC on the params.yaml the result was built from (as committed, plus the
        # recorded uncommitted diff): no recompiling, so `--set` overrides are kept too
        (scratch / paths.ENV_LOCK).write_text(envlock.render(), encoding="utf-8")
        bindir = str(Path(sys.executable).parent)
        env = {**os.environ, "DVC_NO_ANALYTICS": "1", "NO_COLOR": "1",
               "PATH": bindir + os.pathsep + os.environ.get("PATH", "")}
        env.pop("MLFLOW_TRACKING_URI", None)  # the scratch copy logs to its own store
        target = f"{'evaluate' if 'evaluate' in original.records else 'train'}-{original.spec}"
        say(f"rebuilding {original.spec} at {commit[:12]} in {scratch} (dvc repro {target}) ...")
        proc = subprocess.run(
            [sys.executable, "-m", "dvc", "repro", target],
            cwd=scratch, env=env, capture_output=True, text=True, check=False,
        )
        log = proc.stdout + proc.stderr
        if proc.returncode != 0:
            tail = "\n".join(log.strip().splitlines()[-15:])
            raise ReproFailure(f"the rebuild failed (exit {proc.returncode}):\n{tail}")
        rebuilt = load_result(str(scratch / paths.spec_dir(original.spec)), scratch)
        rebuilt.label = f"rebuilt at {commit[:12]}"
        d = compare(original, rebuilt)
        same_hw = _hardware_key(original) == _hardware_key(rebuilt)
        v = Verification(original.spec, commit, str(scratch), same_hw, False, d, notes=notes,
                         log=log)
        if same_hw:
            v.mismatches = d.outputs + [m for m in d.metrics if m["a"] != m["b"]]
        else:
            v.notes.append("different hardware: metrics compared within a tolerance")
            v.mismatches = compare_tolerant(original, rebuilt)
        v.reproduced = not v.mismatches
        return v
    finally:
        if not keep:
            shutil.rmtree(tmp, ignore_errors=True)
