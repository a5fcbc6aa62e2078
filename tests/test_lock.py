"""The lock is the environment: requirements.lock.txt names every installed distribution at its
installed version, with hashes; pyproject.toml declares every package the code imports; the
committed env.lock is what installing the lock gives. No network."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "requirements.lock.txt"
IGNORED = {"pip", "wheel", "repro"}  # the venv's own installer, and the project itself
_ENTRY = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)")


def norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def read_lock() -> dict[str, tuple[str, list[str]]]:
    """``{name: (version, [sha256, ...])}`` from the lock's entries."""
    out: dict[str, tuple[str, list[str]]] = {}
    name = None
    for line in LOCK.read_text(encoding="utf-8").splitlines():
        m = _ENTRY.match(line)
        if m:
            name = norm(m.group(1))
            assert name not in out, f"{name} is locked twice"
            out[name] = (m.group(2), [])
        elif line[:1].isalnum():
            pytest.fail(f"lock entry not pinned with ==: {line!r}")
        if name:
            out[name][1].extend(re.findall(r"--hash=sha256:([0-9a-f]{64})", line))
    return out


def installed() -> dict[str, str]:
    out = {}
    for dist in metadata.distributions():
        name = dist.metadata["Name"]
        if name and norm(name) not in IGNORED:
            out[norm(name)] = dist.version
    return out


def declared() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    reqs = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        reqs += extra
    return [Requirement(r) for r in reqs]


def test_every_entry_is_pinned_with_hashes():
    lock = read_lock()
    assert len(lock) > 100
    assert [n for n, (_, hashes) in lock.items() if not hashes] == []


def test_torch_is_the_build_on_disk():
    """The lock's torch is the one scripts/lock-constraints.txt names (the CPU wheel on disk), never
    PyPI's CUDA build."""
    pin = re.search(
        r"^torch==(\S+)", (ROOT / "scripts/lock-constraints.txt").read_text(), re.M
    ).group(1)
    assert "+" in pin, "torch must be pinned to a local build (e.g. 2.13.0+cpu)"
    assert read_lock()["torch"][0] == pin


def test_lock_is_the_installed_environment():
    lock = {n: v for n, (v, _) in read_lock().items()}
    have = installed()
    if have.get("torch") != lock["torch"]:
        # scripts/setup.sh kept a torch someone installed (a GPU build): that torch and what it
        # brought are not the lock's; everything else still must be.
        lock.pop("torch")
        have = {n: v for n, v in have.items() if n in lock}
    mismatched = {
        n: (lock.get(n), have.get(n))
        for n in sorted(set(lock) | set(have))
        if lock.get(n) != have.get(n)
    }
    assert mismatched == {}, (
        "installed distributions differ from requirements.lock.txt as {name: (locked, installed)}: "
        "run `bash scripts/setup.sh` (or `bash scripts/lock.sh` after changing pyproject.toml)"
    )


def test_declared_dependencies_are_locked_at_a_version_they_allow():
    lock = {n: v for n, (v, _) in read_lock().items()}
    for req in declared():
        name = norm(req.name)
        assert name in lock, f"{req} is declared in pyproject.toml but not in the lock"
        assert req.specifier.contains(lock[name], prereleases=True), (
            f"the lock's {name}=={lock[name]} is outside pyproject's {req}"
        )


def test_env_lock_follows_from_the_lock():
    """The committed env.lock (a dependency of every stage) is what installing the lock gives:
    the same distributions at the same versions (pip comes with the interpreter)."""
    text = (ROOT / "env.lock").read_text(encoding="utf-8")
    env = {norm(n): v for n, v in re.findall(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)$", text, re.M)}
    env = {n: v for n, v in env.items() if n not in IGNORED | {"python", "platform"}}
    lock = {n: v for n, (v, _) in read_lock().items()}
    assert env == lock


def imported_modules(*folders: str) -> set[str]:
    """Top-level names of every module imported anywhere (lazy imports included) in ``folders``."""
    names: set[str] = set()
    for folder in folders:
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    names.update(a.name.split(".")[0] for a in node.names)
                elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    names.add(node.module.split(".")[0])
    return names - set(sys.stdlib_module_names) - {"__future__", "repro", "runners"}


def test_every_imported_package_is_declared():
    owners = metadata.packages_distributions()
    names = {norm(r.name) for r in declared()}
    for module in sorted(imported_modules("repro", "runners")):
        dists = {norm(d) for d in owners.get(module, [])}
        assert dists, f"`import {module}` in repro/ or runners/: no installed distribution has it"
        assert dists & names, (
            f"`import {module}` ({', '.join(sorted(dists))}) is not in pyproject.toml"
        )
