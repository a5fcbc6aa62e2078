"""Is each stage up to date, and if not, why: the specs as they compile now against ``dvc.lock``.

What ``dvc status`` decides, without importing DVC (``repro show`` stays well under a
second): a stage is *not built* when ``dvc.lock`` has no entry for it; *stale* when its
command, its list of deps, a params value (compared with the specs as they compile now, so
an edit not yet compiled counts), a dep's content or an output's content differs from what
the lock recorded, or when a stage it depends on is stale; *failed* when the last ``repro
run`` recorded a failure and the stage has not been built since. Content is DVC's md5 (a
folder: the md5 of its sorted listing), cached in ``.repro/md5-cache.json`` by path, size
and mtime, so an unchanged model is never read twice.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from repro.contract import paths
from repro.contract.fsio import write_text_atomic

CACHE = Path(".repro") / "md5-cache.json"
LAST_RUN = Path(".repro") / "last-run.json"


@dataclass
class StageStatus:
    stage: str
    state: str  # up to date | stale | failed | not built
    reasons: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"stage": self.stage, "state": self.state, "reasons": self.reasons}


class Md5Cache:
    """DVC's md5 of files and folders, remembered by (size, mtime_ns) across runs."""

    def __init__(self, root: Path) -> None:
        self.root, self.path = root, root / CACHE
        self.dirty, self.memo = False, {}
        try:
            self.files: dict[str, list] = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            self.files = {}

    def file(self, p: Path) -> str:
        st = p.stat()
        key = str(p)
        hit = self.files.get(key)
        if isinstance(hit, list) and hit[:2] == [st.st_size, st.st_mtime_ns]:
            return hit[2]
        h = hashlib.md5()  # noqa: S324 - DVC's content hash, not for security
        with open(p, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        self.files[key] = [st.st_size, st.st_mtime_ns, h.hexdigest()]
        self.dirty = True
        return h.hexdigest()

    def of(self, rel: str) -> str | None:
        """``md5`` as dvc.lock writes it (``<md5>.dir`` for a folder), None if missing."""
        if rel in self.memo:
            return self.memo[rel]
        p = self.root / rel
        out: str | None = None
        if p.is_file():
            out = self.file(p)
        elif p.is_dir():
            entries = []
            for dirpath, dirnames, filenames in os.walk(p):
                dirnames[:] = sorted(d for d in dirnames if d != ".git")
                for name in filenames:
                    f = Path(dirpath) / name
                    entries.append({"md5": self.file(f), "relpath": f.relative_to(p).as_posix()})
            entries.sort(key=lambda e: e["relpath"])
            listing = json.dumps(entries, sort_keys=True).encode("utf-8")
            out = hashlib.md5(listing).hexdigest() + ".dir"  # noqa: S324
        self.memo[rel] = out
        return out

    def save(self) -> None:
        if self.dirty:
            try:
                write_text_atomic(self.path, json.dumps(self.files, separators=(",", ":")))
            except OSError:
                pass  # a read-only workspace: just slower next time


def _lock(root: Path) -> dict[str, Any]:
    import yaml

    try:
        text = (root / paths.DVC_LOCK).read_text(encoding="utf-8")
    except OSError:
        return {}
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    data = yaml.load(text, Loader=loader)  # noqa: S506 - a safe loader
    return (data or {}).get("stages") or {} if isinstance(data, dict) else {}


def _param(params: dict[str, Any], key: str) -> Any:
    """``specs.my-lr.train`` in the compiled params (names may hold dots)."""
    node: Any = params
    rest = key
    while rest:
        if not isinstance(node, dict):
            return _MISSING
        for k in sorted(node, key=len, reverse=True):  # longest name first
            if rest == k or rest.startswith(k + "."):
                node, rest = node[k], rest[len(k) + 1:]
                break
        else:
            return _MISSING
    return node


_MISSING = object()


def _short(v: Any) -> str:
    text = "(none)" if v is _MISSING else json.dumps(v, default=str)
    return text if len(text) <= 40 else text[:37] + "..."


def first_difference(key: str, old: Any, new: Any) -> str | None:
    """``key.sub.field old -> new`` for the first leaf that differs, or None if equal."""
    if old == new:
        return None
    if isinstance(old, dict) and isinstance(new, dict):
        for k in sorted(set(old) | set(new), key=str):
            d = first_difference(f"{key}.{k}", old.get(k, _MISSING), new.get(k, _MISSING))
            if d:
                return d
    return f"{key} {_short(old)} -> {_short(new)}"


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def stage_statuses(root: Path, graph: Any) -> dict[str, StageStatus]:
    """Every stage of the compiled ``graph``, in order, with its state and reasons."""
    lock = _lock(root)
    params = _plain({"datasets": graph.datasets, "specs": graph.specs})
    cache = Md5Cache(root)
    last = last_run(root)
    out: dict[str, StageStatus] = {}
    producer = {o: s.name for s in graph.stages for o in (*s.outs, *s.metrics)}
    for s in graph.stages:
        locked = lock.get(s.name)
        if not isinstance(locked, dict):
            state = "failed" if last.get(s.name) == "failed" else "not built"
            out[s.name] = StageStatus(s.name, state)
            continue
        why: list[str] = []
        if locked.get("cmd") != s.cmd:
            why.append(f"command changed: {locked.get('cmd')} -> {s.cmd}")
        lparams = (locked.get("params") or {}).get(paths.PARAMS_FILE) or {}
        for key in s.params:
            d = first_difference(key, lparams.get(key, _MISSING), _param(params, key))
            if d:
                why.append(f"param {d}")
        ldeps = {d.get("path"): d for d in locked.get("deps") or [] if isinstance(d, dict)}
        added, removed = set(s.deps) - set(ldeps), set(ldeps) - set(s.deps)
        if added or removed:
            why.append("deps changed: " + ", ".join(
                [f"+{d}" for d in sorted(added)] + [f"-{d}" for d in sorted(removed)]))
        for dep in s.deps:
            if dep in producer and out.get(producer[dep]) and out[producer[dep]].state != "up to date":
                why.append(f"upstream {producer[dep]} is {out[producer[dep]].state}")
                continue
            rec = ldeps.get(dep)
            if rec and rec.get("md5") != cache.of(dep):
                why.append(f"dep {dep} {'missing' if cache.of(dep) is None else 'changed'}")
        for o in locked.get("outs") or []:
            if not isinstance(o, dict) or not o.get("path"):
                continue
            now = cache.of(o["path"])
            if now != o.get("md5"):
                why.append(f"output {o['path']} {'missing' if now is None else 'modified'}")
        seen: set[str] = set()
        why = [w for w in why if not (w in seen or seen.add(w))]
        state = "up to date" if not why else ("failed" if last.get(s.name) == "failed" else "stale")
        out[s.name] = StageStatus(s.name, state, why)
    cache.save()
    return out


def spec_status(graph: Any, statuses: dict[str, StageStatus], spec: str) -> StageStatus:
    """A spec's state from the stages it needs (its own, its data's, its base spec's)."""
    needed = graph.upstream(spec)
    own = [s for s in graph.stages if s.name in needed]
    for state in ("failed", "stale"):
        bad = [statuses[s.name] for s in own if statuses[s.name].state == state]
        if bad:
            names = {b.stage for b in bad}
            # the causes: not "upstream X is stale" when X is listed with its own reasons
            why = [f"{b.stage}: {r}" for b in bad for r in b.reasons
                   if not (r.startswith("upstream ") and r.split()[1] in names)]
            return StageStatus(spec, state, why or sorted(names))
    mine = [statuses[s.name] for s in own if s.spec == spec]
    if any(st.state == "not built" for st in mine):
        return StageStatus(spec, "not built")
    others = [statuses[s.name] for s in own if statuses[s.name].state == "not built"]
    if others:
        return StageStatus(spec, "stale", [f"{o.stage}: not built" for o in others])
    return StageStatus(spec, "up to date")


def last_run(root: Path) -> dict[str, str]:
    """stage -> "ran" | "failed", as the last ``repro run`` of each stage ended."""
    try:
        data = json.loads((root / LAST_RUN).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    stages = data.get("stages") if isinstance(data, dict) else None
    return {k: v for k, v in (stages or {}).items() if isinstance(v, str)}


def record_run(root: Path, ran: list[str], failed: list[str]) -> None:
    """Remember which stages the run built and which failed (for ``repro show``)."""
    stages = last_run(root)
    stages.update(dict.fromkeys(ran, "ran"))
    stages.update(dict.fromkeys(failed, "failed"))
    try:
        write_text_atomic(root / LAST_RUN, json.dumps({"stages": stages}, indent=1,
                                                      sort_keys=True) + "\n")
    except OSError:
        pass
