"""The workspace's own MLflow store follows the workspace when it is copied or moved.

MLflow keeps artifact locations as absolute paths (``file:///old/place/mlartifacts/...``)
in ``mlflow.db``. After ``cp -a ws ws2`` (or ``mv``) the copy's store would still point at
the original's artifacts: new runs would write there, and a move would lose them. Before
the tracking process opens a run on the workspace's own SQLite store, ``relocate``
rewrites every location under another workspace's ``mlartifacts`` to this one's, with
``sqlite3`` from the standard library (no MLflow import). Nothing else is touched.
"""

from __future__ import annotations

import contextlib
import re
import sqlite3
from pathlib import Path

ARTIFACTS_DIR = "mlartifacts"
# (table, column) holding artifact locations, as MLflow 3's SQL store names them
COLUMNS = (
    ("experiments", "artifact_location"),
    ("runs", "artifact_uri"),
    ("logged_models", "artifact_location"),
    ("model_versions", "storage_location"),
    ("model_versions", "source"),
)


def relocate(db: Path, root: Path) -> str | None:
    """Point every artifact location of store ``db`` at ``root/mlartifacts`` when it names
    another workspace's; return the old prefix (None when nothing moved)."""
    if not db.is_file():
        return None
    new = (root / ARTIFACTS_DIR).resolve().as_uri()
    with contextlib.closing(sqlite3.connect(db, timeout=60)) as con:
        try:
            rows = con.execute("SELECT artifact_location FROM experiments").fetchall()
        except sqlite3.DatabaseError:
            return None  # not created yet: MLflow makes it
        olds = {m.group(1) for (loc,) in rows if loc
                for m in [re.match(rf"^(file://.*/{ARTIFACTS_DIR})(/.*)?$", loc)] if m}
        olds.discard(new)
        if not olds:
            return None
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        with con:
            for old in sorted(olds):
                for table, column in COLUMNS:
                    if table not in tables:
                        continue
                    con.execute(
                        f"UPDATE {table} SET {column} = ? || substr({column}, ?) "
                        f"WHERE substr({column}, 1, ?) = ?",
                        (new, len(old) + 1, len(old), old),
                    )
    return ", ".join(sorted(olds))
