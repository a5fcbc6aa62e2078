"""Typed, versioned records: one pydantic model per JSON file the stages write.

The writers (``runners``) build these models and write them with ``to_json()``; every reader
(``repro.results``, ``repro.data``, train and evaluate reading a manifest) loads them with
``load``/``read``, which upgrades an older version in one place. Pydantic and the standard
library only, so both planes can import it.

=====================================  ======================  =========  ==============
file                                   model                   version    written by
=====================================  ======================  =========  ==============
``runs/_data/<key>/manifest.json``     :class:`Manifest`       2          prepare
``runs/_data/<key>/card.json``         :class:`DataCard`       1          prepare
``runs/_data/<key>/lineage.json``      :class:`PrepareLineage` 3          prepare
``runs/<spec>/<stage>.lineage.json``   :class:`StageLineage`   3          train, evaluate
``runs/<spec>/<stage>.run.json``       :class:`RunRecord`      1          train, evaluate
=====================================  ======================  =========  ==============
"""

from repro.contract.records.base import FileRef, Record, RecordError, parse
from repro.contract.records.data import (
    CARD,
    CARD_VERSION,
    MANIFEST_VERSION,
    DataCard,
    Manifest,
    load_card,
    load_manifest,
    read_manifest,
)
from repro.contract.records.lineage import (
    LINEAGE_VERSION,
    PrepareLineage,
    StageLineage,
    load_lineage,
    v1_run,
)
from repro.contract.records.run import RUN_VERSION, RunRecord

__all__ = [
    "CARD", "CARD_VERSION", "LINEAGE_VERSION", "MANIFEST_VERSION", "RUN_VERSION", "DataCard",
    "FileRef", "Manifest", "PrepareLineage", "Record", "RecordError", "RunRecord",
    "StageLineage", "load_card", "load_lineage", "load_manifest", "parse", "read_manifest",
    "v1_run",
]
