"""The lineage record: what went into one stage's result, a pure function of its inputs.

``runs/<spec>/<stage>.lineage.json`` for train and evaluate (:class:`StageLineage`), and
``runs/_data/<key>/lineage.json`` for prepare (:class:`PrepareLineage`); both are DVC outs, so
two clean builds must write the same bytes: no times, hosts, git state or run ids (those go to
the run record). Every input carries its content hash and, when a stage made it, a pointer
(path + sha256) to that stage's record, so ancestry can be walked.

Versions: 1 (``schema_version``: one record per execution, run facts inline), 2 (lineage and
run records split), 3 (the raw data's BLAKE3 hash is named ``raw_hash`` in ``inputs.data`` and
``hash`` in a prepare record's ``inputs.raw``, where version 2 called both ``sha256``).
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field, TypeAdapter, ValidationError

from repro.contract.records.base import FileRef, Open, Part, Record, RecordError, brief

LINEAGE_VERSION = 3


# ----------------------------------------------------------------------------- upgrades


def _v2_to_v3(data: dict[str, Any]) -> dict[str, Any]:
    """Rename the raw data hash: ``inputs.data.raw_sha256`` -> ``raw_hash`` (train and
    evaluate), ``inputs.raw.sha256`` -> ``hash`` (prepare)."""
    out = dict(data, lineage_version=3)
    inputs = dict(data.get("inputs") or {})
    if isinstance(inputs.get("data"), dict) and "raw_sha256" in inputs["data"]:
        d = dict(inputs["data"])
        d["raw_hash"] = d.pop("raw_sha256")
        inputs["data"] = d
    if isinstance(inputs.get("raw"), dict) and "sha256" in inputs["raw"]:
        r = dict(inputs["raw"])
        r["hash"] = r.pop("sha256")
        inputs["raw"] = r
    if "inputs" in data:
        out["inputs"] = inputs
    return out


def _v1_to_v2(record: dict[str, Any]) -> dict[str, Any]:
    """Version 1 kept one record per execution; its run facts are in :func:`v1_run`."""
    data = record.get("data") or {}
    code = record.get("code") or {}
    versions = (record.get("environment") or {}).get("versions") or {}
    inputs: dict[str, Any] = {"data": {
        "key": data.get("key"), "path": f"runs/_data/{data.get('key')}",
        "data_hash": data.get("data_hash"),
        "raw_sha256": data.get("raw_hash") or data.get("raw_sha256"),
        "source": data.get("source")}}
    if record.get("base_model"):
        inputs["base_model"] = dict(record["base_model"])
    if record.get("evaluated_model"):
        inputs["model"] = dict(record["evaluated_model"])
    return {
        "lineage_version": 2,
        "stage": record.get("stage"),
        "spec": record.get("spec"),
        "command": record.get("command"),
        "spec_hash": record.get("spec_hash"),
        "params": record.get("params") or {},
        "inputs": inputs,
        "code": {"sources": code.get("runners") or {}},
        "environment": {"python": versions.get("python"),
                        "packages": {k: v for k, v in versions.items() if k != "python" and v},
                        "packages_sha256": (record.get("environment") or {}).get(
                            "packages_sha256")},
        "determinism": {"seed": record.get("seed")},
    }


class DataInput(Part):
    """The prepared data set a stage read."""

    key: str | None = None
    path: str | None = None
    data_hash: str | None = None
    raw_hash: str | None = None  # BLAKE3 of the raw data it was prepared from
    source: str | None = None  # the raw data's origin label (secrets redacted)
    record: FileRef | None = None  # the prepare stage's lineage record (or its manifest)


class TokenizerInput(Part):
    from_: str = Field(alias="from")  # "data" (the prepared data set's) | "base model"
    path: str | None = None
    sha256: str | None = None


class BaseModelInput(Part):
    kind: str  # config | spec | path | hub
    ref: str | None = None
    revision: str | None = None
    sha256: str | None = None  # content hash; None for a hub id (the revision names it)
    spec: str | None = None  # kind spec: the spec whose trained model it is ...
    record: FileRef | None = None  # ... and that spec's train record


class ModelInput(Part):
    """A trained model read as an input: evaluate's own, or a GRPO reward model."""

    spec: str | None = None
    path: str
    sha256: str | None = None
    record: FileRef | None = None


class StageInputs(Part):
    data: DataInput | None = None
    tokenizer: TokenizerInput | None = None
    base_model: BaseModelInput | None = None
    model: ModelInput | None = None  # evaluate: the model it scored
    reward_models: list[ModelInput] | None = None  # grpo rewarded by other specs' models
    # human_eval: the sheet's key, the judgments files, and the models whose answers were judged
    sheet_key: FileRef | None = None
    judgments: list[FileRef] | None = None
    systems: list[ModelInput] | None = None
    teacher: ModelInput | None = None  # distill: the teacher spec's trained model


class Code(Part):
    sources: dict[str, str] = Field(default_factory=dict)  # sha256 per file the stage runs
    sha256: str | None = None  # of the canonical JSON of ``sources``


class Environment(Part):
    source: str | None = None  # "env.lock", or "installed" when the stage ran without a lock
    lock: FileRef | None = None
    python: str | None = None
    platform: str | None = None
    versions: dict[str, str | None] = Field(default_factory=dict)  # the key packages
    packages: dict[str, str] = Field(default_factory=dict)
    packages_sha256: str | None = None


class Determinism(Open):
    """Seeds and determinism settings (``runners.training.seeding.report``), naming the
    non-determinism that was allowed."""

    seed: int | None = None
    full: bool | None = None
    seeds: dict[str, int | None] = Field(default_factory=dict)
    allowed_nondeterminism: list[str] = Field(default_factory=list)


class _Lineage(Record):
    KIND = "lineage record"
    VERSION_FIELD = "lineage_version"
    VERSION = LINEAGE_VERSION
    UPGRADES = {1: _v1_to_v2, 2: _v2_to_v3}

    lineage_version: Literal[3] = LINEAGE_VERSION
    command: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    code: Code = Field(default_factory=Code)
    environment: Environment = Field(default_factory=Environment)
    determinism: Determinism = Field(default_factory=Determinism)

    @classmethod
    def version_of(cls, data: dict[str, Any]) -> Any:
        if "lineage_version" not in data and "schema_version" in data:
            return 1
        return data.get("lineage_version")


class StageLineage(_Lineage):
    """``runs/<spec>/{train,evaluate}.lineage.json``."""

    stage: Literal["train", "evaluate", "human_eval"]
    spec: str
    spec_hash: str | None = None  # sha256 of {"dataset", "spec"} as params.yaml holds them
    # params: the specs.<name> entry (secrets redacted); dataset: the datasets.<key> entry
    dataset: dict[str, Any] | None = None
    inputs: StageInputs = Field(default_factory=StageInputs)
    outputs: dict[str, str | None] = Field(default_factory=dict)  # sha256 per output path
    training: dict[str, Any] | None = None  # train: {"processes": N}
    trainer: str | None = None  # TRL methods: the trainer class it subclassed
    # evaluate: task files and their data hashes, n-shot, seeds, custom metric modules, gates
    evaluation: dict[str, Any] | None = None


class RawInput(Part):
    source: str | None = None
    hash: str | None = None  # BLAKE3 of the raw data (``blake3:<hex>``)
    path: str | None = None  # a local source: its path in the workspace


class PrepareInputs(Part):
    raw: RawInput | None = None


class PrepareOutputs(Part):
    data_hash: str | None = None
    files: dict[str, str] = Field(default_factory=dict)


class PrepareLineage(_Lineage):
    """``runs/_data/<key>/lineage.json``; ``params`` is the datasets.<key> entry."""

    stage: Literal["prepare"]
    dataset: str  # the data set key
    inputs: PrepareInputs = Field(default_factory=PrepareInputs)
    outputs: PrepareOutputs = Field(default_factory=PrepareOutputs)

    spec: ClassVar[None] = None  # prepare records belong to a data set, not a spec


LineageRecord = Annotated[StageLineage | PrepareLineage, Field(discriminator="stage")]
_ADAPTER: TypeAdapter[StageLineage | PrepareLineage] | None = None


def load_lineage(data: Any, where: str = "") -> StageLineage | PrepareLineage:
    """A lineage record of any known version, upgraded to the current one and validated."""
    global _ADAPTER
    if not isinstance(data, dict):
        raise RecordError(f"{where or 'lineage record'}: not a JSON object")
    data = _Lineage.upgrade(data, where)
    if _ADAPTER is None:
        _ADAPTER = TypeAdapter(LineageRecord)
    try:
        return _ADAPTER.validate_python(data)
    except ValidationError as e:
        raise RecordError(f"{where or 'lineage record'}: not a valid lineage record: "
                          f"{brief(e)}") from None


def v1_run(record: dict[str, Any]) -> dict[str, Any] | None:
    """The run facts a version-1 record held inline, in the run record's shape (None for a
    later version, whose run record is a file of its own)."""
    if _Lineage.version_of(record) != 1:
        return None
    code = record.get("code") or {}
    return {
        "run_version": 1, "stage": record.get("stage"), "spec": record.get("spec"),
        "command": record.get("command"),
        "git": {k.removeprefix("git_"): v for k, v in code.items() if k.startswith("git_")},
        "hardware": record.get("hardware") or {}, "started": record.get("started"),
        "ended": record.get("ended"), "duration_s": record.get("duration_s"),
        "tracking": {"mlflow_run_id": record.get("mlflow_run_id")},
    }
