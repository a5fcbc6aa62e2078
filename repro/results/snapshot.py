"""A whole revision's results, as its committed files say: ``snapshot(root, rev)``.

What ``repro diff REV [REV]`` compares. From a git revision (or the workspace): ``params.yaml``
(every resolved spec and data set), ``dvc.yaml`` (each stage's deps, params and outs),
``dvc.lock`` (what was last built, with the md5 of every dep and out) and the content of every
file a stage depends on (git blob ids, md5 for checking ``dvc.lock``). A stage is *fresh* when
``dvc.lock`` records exactly the deps and params the revision declares (DVC's own rule), so
the outputs it names are the outputs of these inputs; they are read from the DVC cache (or
the workspace). Git is read in three processes per revision; no DVC import.
"""

from __future__ import annotations

import hashlib
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from repro.contract import paths
from repro.contract.git import git
from repro.errors import ReproError
from repro.results.sources import _yaml, dvc_cache_dir, read_cached


def cat_files(root: Path, names: list[str]) -> dict[str, bytes | None]:
    """The contents of git objects (``REV:path`` or blob ids), in one ``git cat-file``."""
    if not names:
        return {}
    proc = subprocess.run(["git", "-C", str(root), "cat-file", "--batch"],
                          input="".join(n + "\n" for n in names).encode(),
                          capture_output=True, check=False)
    out, pos, data = {}, 0, proc.stdout
    for name in names:
        end = data.index(b"\n", pos)
        header = data[pos:end].split()
        pos = end + 1
        if len(header) < 3 or header[1] == b"missing":
            out[name] = None
            continue
        size = int(header[2])
        out[name] = data[pos:pos + size] if header[1] == b"blob" else None
        pos += size + 1
    return out


_STAGE = re.compile(r"^  ([^\s#'\"][^:]*):$")
_SECTION = re.compile(r"^    (\w+):(?: (.*))?$")
_ITEM = re.compile(r"^    (?:- |  )(\w+): (.*)$")


def _fast_lock(text: str) -> dict[str, Any] | None:
    """The stages of a ``dvc.lock`` in the layout DVC writes, parsed without building every
    dep and out through YAML (most of a 7,000-line lock); None for any other layout."""
    lines = text.splitlines()
    if "stages:" not in lines:
        return None
    stages: dict[str, Any] = {}
    stage: dict[str, Any] | None = None
    section, items, params = None, [], []

    def close() -> bool:
        if stage is None or section is None:
            return True
        if section == "params":
            stage["params"] = _yaml("\n".join(params)) or {}
        elif section in ("deps", "outs"):
            stage[section] = items
        return True

    for line in lines[lines.index("stages:") + 1:]:
        if not line.strip():
            continue
        m = _STAGE.match(line)
        if m:
            close()
            stage, section = {}, None
            stages[m.group(1)] = stage
            continue
        if stage is None:
            return None
        m = _SECTION.match(line)
        if m:
            close()
            section, items, params = m.group(1), [], []
            if m.group(2) is not None:
                if section != "cmd" or m.group(2)[:1] in ("'", '"', "|", ">"):
                    return None
                stage["cmd"] = m.group(2)
            elif section not in ("deps", "outs", "params"):
                return None
            continue
        if section == "params" and line.startswith("      "):
            params.append(line[6:])
            continue
        if section == "cmd" and line.startswith("      "):  # a long command, folded
            stage["cmd"] = stage["cmd"].rstrip() + " " + line.strip()
            continue
        m = _ITEM.match(line)
        if m is None or section not in ("deps", "outs") or m.group(2)[:1] in ("'", '"'):
            return None
        if line.startswith("    - "):
            items.append({})
        if not items:
            return None
        items[-1][m.group(1)] = m.group(2)
    close()
    return stages


def parse_lock(raw: bytes | None) -> dict[str, Any]:
    """``dvc.lock``'s stages: fast in DVC's own layout, else through YAML."""
    if not raw:
        return {}
    import yaml

    text = raw.decode("utf-8")
    try:
        fast = _fast_lock(text)
    except yaml.YAMLError:  # e.g. an alias to an anchor of another stage
        fast = None
    if fast is not None:
        return fast
    return (_yaml(text) or {}).get("stages") or {}


def blob_id(raw: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(raw) + raw).hexdigest()  # noqa: S324 - git's id


@dataclass
class Stage:
    name: str
    deps: list[str]
    params: list[str]
    outs: list[str]


@dataclass
class Snapshot:
    label: str
    root: Path
    commit: str | None  # None: the workspace
    params: dict[str, Any]
    stages: dict[str, Stage]
    lock: dict[str, Any]
    files: dict[str, str] = field(default_factory=dict)  # path -> content id (git blob id)
    md5s: dict[str, str] = field(default_factory=dict)  # path -> md5 of its content
    texts: dict[str, bytes] = field(default_factory=dict)  # env.lock
    notes: list[str] = field(default_factory=list)
    cache: Path | None = None  # the DVC cache
    _fresh: dict[str, bool] = field(default_factory=dict)
    _producers: dict[str, str] = field(default_factory=dict)  # out path -> stage

    @property
    def specs(self) -> dict[str, Any]:
        return self.params.get("specs") or {}

    @property
    def datasets(self) -> dict[str, Any]:
        return self.params.get("datasets") or {}

    def producer(self, path: str) -> str | None:
        return self._producers.get(path)

    def index(self) -> None:
        self._producers = {o: s.name for s in self.stages.values() for o in s.outs}

    def upstream(self, names: list[str]) -> list[str]:
        """The stages ``names`` and every stage they depend on, each once."""
        seen: list[str] = []
        todo = [n for n in names if n in self.stages]
        while todo:
            name = todo.pop()
            if name in seen:
                continue
            seen.append(name)
            todo += [p for d in self.stages[name].deps if (p := self.producer(d))]
        return seen

    def param(self, key: str) -> Any:
        value: Any = self.params
        for part in key.split("."):
            if not isinstance(value, dict) or part not in value:
                return None
            value = value[part]
        return value

    def lock_deps(self, name: str) -> dict[str, str]:
        return {d["path"]: d.get("md5") for d in (self.lock.get(name) or {}).get("deps") or []}

    def lock_outs(self, name: str) -> dict[str, str]:
        return {o["path"]: o.get("md5") for o in (self.lock.get(name) or {}).get("outs") or []}

    def fresh(self, name: str) -> bool:
        """``dvc.lock`` records the deps and params this revision declares for the stage."""
        if name not in self._fresh:
            self._fresh[name] = False  # a cycle is not fresh
            self._fresh[name] = self._check(name)
        return self._fresh[name]

    def _check(self, name: str) -> bool:
        stage, entry = self.stages.get(name), self.lock.get(name)
        if stage is None or not entry:
            return False
        deps = self.lock_deps(name)
        if set(deps) != set(stage.deps):
            return False
        for dep in stage.deps:
            producer = self.producer(dep)
            if producer is not None:
                if not self.fresh(producer) or self.lock_outs(producer).get(dep) != deps[dep]:
                    return False
            elif dep in self.md5s and self.md5s[dep] != deps[dep]:
                return False
        locked = ((entry.get("params") or {}).get(paths.PARAMS_FILE)) or {}
        return set(locked) == set(stage.params) and all(
            locked[k] == self.param(k) for k in stage.params)

    def read_out(self, md5: str | None, path: str) -> bytes | None:
        """An output by its md5: from the workspace when it still has it, else the cache."""
        if not md5:
            return None
        if self.commit is None:
            try:
                raw = (self.root / path).read_bytes()
                if hashlib.md5(raw).hexdigest() == md5:  # noqa: S324 - DVC's hash
                    return raw
            except OSError:
                pass
        return read_cached(self.cache, md5) if self.cache else None


def _stages(dvc: dict[str, Any]) -> dict[str, Stage]:
    out = {}
    for name, st in ((dvc or {}).get("stages") or {}).items():
        if not isinstance(st, dict):
            continue
        params: list[str] = []
        for p in st.get("params") or []:
            if isinstance(p, str):
                params.append(p)
            elif isinstance(p, dict):  # {params.yaml: [keys]}
                for keys in p.values():
                    params += list(keys or [])
        outs: list[str] = []
        for kind in ("outs", "metrics", "plots"):
            for o in st.get(kind) or []:
                outs.append(o if isinstance(o, str) else next(iter(o)))
        out[name] = Stage(name, [str(d) for d in st.get("deps") or []], params, outs)
    return out


def _file_deps(stages: dict[str, Stage], outs: set[str]) -> set[str]:
    return {d for s in stages.values() for d in s.deps if d not in outs}


_PARSED: dict[tuple[str, int], Any] = {}


def _parsed(raw: bytes | None, parse) -> Any:
    """``parse(raw)``, once per content: two revisions often share dvc.lock and dvc.yaml
    (the result is shared: read it, never change it)."""
    key = (hashlib.sha1(raw or b"").hexdigest(), id(parse.__code__))  # noqa: S324 - a key
    if key not in _PARSED:
        if len(_PARSED) > 16:
            _PARSED.clear()
        _PARSED[key] = parse(raw)
    return _PARSED[key]


def snapshot(root: Path, rev: str | None) -> Snapshot:
    """The results of a revision (``rev``) or of the workspace (``None``)."""
    root = Path(root)
    names = [paths.PARAMS_FILE, paths.DVC_FILE, paths.DVC_LOCK, paths.ENV_LOCK]
    if rev is None:
        raw = {}
        for n in names:
            try:
                raw[n] = (root / n).read_bytes()
            except OSError:
                raw[n] = None
        commit, label = None, f"workspace ({root})"
    else:
        commit = git(root, "rev-parse", "--verify", "-q", f"{rev}^{{commit}}")
        if not commit:
            raise ReproError(f"{rev}: not a git revision of {root}")
        commit = commit.strip()
        label = f"{rev} ({commit[:10]})"
        got = cat_files(root, [f"{commit}:{n}" for n in names])
        raw = {n: got[f"{commit}:{n}"] for n in names}
    if raw[paths.PARAMS_FILE] is None or raw[paths.DVC_FILE] is None:
        raise ReproError(f"{label}: no {paths.PARAMS_FILE} or {paths.DVC_FILE}: not a compiled "
                         "repro workspace (run `repro compile` and commit them)")
    params = _parsed(raw[paths.PARAMS_FILE], lambda b: _yaml(b.decode("utf-8")) or {})
    stages = _parsed(raw[paths.DVC_FILE], lambda b: _stages(_yaml(b.decode("utf-8"))))
    lock_raw = raw[paths.DVC_LOCK]
    lock = _parsed(lock_raw, parse_lock)
    snap = Snapshot(label, root, commit, params, stages, lock, cache=dvc_cache_dir(root))
    snap.index()
    if raw[paths.ENV_LOCK] is not None:
        snap.texts[paths.ENV_LOCK] = raw[paths.ENV_LOCK]
    wanted = _file_deps(stages, set(snap._producers))
    if commit is None:
        _workspace_files(snap, wanted)
    else:
        _rev_files(snap, wanted)
    if lock_raw is None:
        snap.notes.append(f"no {paths.DVC_LOCK}: nothing was built")
    return snap


def _workspace_files(snap: Snapshot, wanted: set[str]) -> None:
    newest = max((p.stat().st_mtime for p in (snap.root / paths.SPECS_DIR).rglob("*.y*ml")),
                 default=0.0)
    if newest > (snap.root / paths.PARAMS_FILE).stat().st_mtime:
        snap.notes.append(f"a spec is newer than {paths.PARAMS_FILE}: run `repro compile` to "
                          "compare what the specs say now")
    for rel in sorted(wanted):
        p = snap.root / rel
        if p.is_file():
            raw = p.read_bytes()
            snap.files[rel] = blob_id(raw)
            snap.md5s[rel] = hashlib.md5(raw).hexdigest()  # noqa: S324 - DVC's hash
        elif p.is_dir():
            snap.files[rel] = "dir:" + ",".join(
                f"{q.relative_to(p).as_posix()}={blob_id(q.read_bytes())}"
                for q in sorted(p.rglob("*")) if q.is_file())


def _rev_files(snap: Snapshot, wanted: set[str]) -> None:
    listing = git(snap.root, "ls-tree", "-r", "-t", "--full-tree", snap.commit) or ""
    ids: dict[str, str] = {}
    for line in listing.splitlines():
        meta, _, path = line.partition("\t")
        if path in wanted:
            kind, oid = meta.split()[1:3]
            snap.files[path] = oid if kind == "blob" else f"dir:{oid}"
            if kind == "blob":
                ids[path] = oid
    blobs = cat_files(snap.root, sorted(set(ids.values())))
    for path, oid in ids.items():
        if blobs.get(oid) is not None:
            snap.md5s[path] = hashlib.md5(blobs[oid]).hexdigest()  # noqa: S324 - DVC's hash
