"""One writer per workspace: the verbs that write (run, compile, pin, upgrade, export) hold a lock.

The lock is an ``flock`` on ``.dvc/tmp/repro.lock`` (released by the kernel when its holder
dies, so it never goes stale) and the file says who holds it: pid, verb and since when. A
second writer says so and exits (exit code 3), or with ``--wait SECONDS`` waits for it,
showing the wait on stderr. Readers (show, diff, lineage, validate, plan) take no lock and
keep working while a run is on.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from repro.errors import ReproError

LOCK_FILE = Path(".dvc") / "tmp" / "repro.lock"


class WorkspaceBusy(ReproError):
    """Another repro command is writing this workspace. Nothing failed: exit code 3."""

    exit_code = 3


def holder(path: Path) -> dict:
    """Who holds the lock, as its file says (empty when unknown)."""
    try:
        info = json.loads(path.read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        return {}
    return info if isinstance(info, dict) else {}


def describe(info: dict) -> str:
    if not info:
        return "another repro command"
    since = info.get("since", "?")
    with contextlib.suppress(ValueError, TypeError):
        secs = time.time() - datetime.fromisoformat(since).timestamp()
        since = f"{since} ({secs:.0f} s ago)"
    return f"'repro {info.get('verb', '?')}' (pid {info.get('pid', '?')}, since {since})"


@contextlib.contextmanager
def hold(root: Path, verb: str, wait: float | None = None):
    """Hold the workspace's write lock for ``verb``; ``wait``: seconds to wait for another
    holder (None or 0: do not wait). Raises WorkspaceBusy. A folder that is not a DVC
    repository takes no lock (nothing runs there)."""
    import fcntl

    if not (Path(root) / ".dvc").is_dir():
        yield
        return
    path = Path(root) / LOCK_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        start, shown = time.monotonic(), 0.0
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                who = describe(holder(path))
                waited = time.monotonic() - start
                if not wait or waited >= wait:
                    if shown:
                        print(file=sys.stderr)
                    raise WorkspaceBusy(
                        f"the workspace is busy: {who} is writing it"
                        + (f"; gave up after waiting {waited:.0f} s" if wait else "")
                        + ". Nothing was run or changed. Wait for it to finish, or run again "
                        "with --wait SECONDS; show, diff, lineage, validate and plan work "
                        "meanwhile") from None
                if waited - shown >= 5 or not shown:
                    print(f"\rwaiting for {who} to finish ({waited:.0f} s of {wait:.0f} s)",
                          end="", file=sys.stderr, flush=True)
                    shown = max(waited, 0.001)
                time.sleep(0.2)
        if shown:
            print(file=sys.stderr)
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps({
            "pid": os.getpid(), "verb": verb,
            "since": datetime.now(UTC).isoformat(timespec="seconds"),
        }).encode("utf-8"), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
