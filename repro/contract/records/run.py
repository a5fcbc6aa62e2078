"""The run record: one execution of a stage (when, where, at which commit, which MLflow run).

``runs/<spec>/<stage>.run.json`` is not a DVC out: it changes with every execution. It points
at the lineage record it belongs to by sha256; readers ignore a run record whose pointer no
longer matches (left over from an earlier execution).
"""

from __future__ import annotations

from pydantic import Field

from repro.contract.records.base import FileRef, Open, Part, Record

RUN_VERSION = 1


class GitState(Part):
    """The workspace's git state when the stage started (``repro.contract.git.git_info``)."""

    commit: str | None = None
    dirty: bool | None = None  # tracked files changed (dvc.lock aside)
    diff_sha256: str | None = None  # sha256 of ``git diff HEAD`` (dvc.lock aside)


class Hardware(Open):
    machine: str | None = None
    system: str | None = None
    cpu: str | None = None
    cpu_count: int | None = None
    gpus: list[str] = Field(default_factory=list)
    device_count: int | None = None
    gpu_driver: str | None = None
    cuda: str | None = None
    torch_threads: int | None = None


class Tracking(Part):
    mlflow_run_id: str | None = None
    tracking_uri: str | None = None  # secrets redacted


class RunRecord(Record):
    """``runs/<spec>/<stage>.run.json``."""

    KIND = "run record"
    VERSION_FIELD = "run_version"
    VERSION = RUN_VERSION

    run_version: int = RUN_VERSION
    stage: str
    spec: str | None = None
    record: FileRef | None = None  # the lineage record this execution wrote
    command: str | None = None
    started: str | None = None  # ISO 8601, seconds, UTC
    ended: str | None = None
    duration_s: float | None = None
    git: GitState = Field(default_factory=GitState)
    hardware: Hardware = Field(default_factory=Hardware)
    env_vars: dict[str, str] = Field(default_factory=dict)  # relevant ones, secrets redacted
    installed_packages_sha256: str | None = None
    # packages whose installed version differs from env.lock: {name: [locked, installed]}
    drift_from_lock: dict[str, list[str | None]] = Field(default_factory=dict)
    tracking: Tracking = Field(default_factory=Tracking)

    def belongs_to(self, lineage_sha256: str | None) -> bool:
        """Whether this execution wrote the lineage record with that sha256."""
        return self.record is not None and self.record.sha256 == lineage_sha256
