"""``repro promote SPEC [--trial N]``: a sweep's trial as a plain, concrete spec in specs/.

The new file is the sweep spec as loaded (its ``extends`` chain merged in), without
``search``, with the trial's sampled values set, and a header comment naming the study,
the trial and its objective values. Built like any spec, it trains the trial's model again
with the same seed and gives the trial's metrics bit for bit.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from repro.contract import paths
from repro.errors import ReproError
from repro.search.space import set_path
from repro.search.study import STUDY_JSON


def read_study(root: Path, name: str) -> dict[str, Any]:
    path = root / paths.spec_dir(name) / STUDY_JSON
    if not path.is_file():
        raise ReproError(f"{path.relative_to(root)}: no study yet (build the sweep first: "
                         f"repro run {name})")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except ValueError as e:
        raise ReproError(f"{path.relative_to(root)}: not JSON ({e})") from None


def pick_trial(study: dict[str, Any], number: int | None) -> dict[str, Any]:
    if number is None:
        number = study.get("best_trial")
        if number is None:
            raise ReproError(f"study {study['study']}: no complete trial to promote")
    for t in study["trials"]:
        if t["number"] == number:
            if t["state"] != "COMPLETE":
                raise ReproError(f"study {study['study']}: trial {number} is {t['state']}, "
                                 "not COMPLETE")
            return t
    raise ReproError(f"study {study['study']}: no trial {number} "
                     f"(0..{len(study['trials']) - 1})")


def concrete(doc_data: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    data = {k: copy.deepcopy(v) for k, v in doc_data.items() if k not in ("search", "extends",
                                                                         "name")}
    for path, value in params.items():
        set_path(data, path, value)
    return data


def promote(root: Path, entry: Any, number: int | None = None,
            new_name: str | None = None) -> dict[str, Any]:
    """Write the trial as ``specs/<new_name>.yaml``; return {file, trial, study, values}."""
    from ruamel.yaml import YAML

    if entry.spec is None or entry.spec.search is None:
        raise ReproError(f"{entry.file}: not a sweep (no search section)")
    study = read_study(root, entry.name)
    trial = pick_trial(study, number)
    name = new_name or f"{entry.name}-trial-{trial['number']}"
    target = root / paths.SPECS_DIR / f"{name}.yaml"
    data = concrete(entry.doc.data, trial["params"])
    values = ", ".join(f"{o['metric']} {v!r}" for o, v in
                       zip(study["objectives"], trial["values"], strict=True))
    header = (f"# Promoted from study {study['study']} (spec {entry.name}), trial "
              f"{trial['number']}: {values}.\n"
              f"# Written by `repro promote {entry.name} --trial {trial['number']}`; "
              "sampled fields:\n"
              + "".join(f"#   {k}: {v!r}\n" for k, v in trial["params"].items()))
    y = YAML(typ="rt", pure=True)
    y.width = 4096
    y.default_flow_style = False
    import io

    buf = io.StringIO()
    y.dump(data, buf)
    from repro.contract.fsio import write_text_atomic

    write_text_atomic(target, header + buf.getvalue())
    return {"file": str(target.relative_to(root)), "spec": name, "study": study["study"],
            "trial": trial["number"], "values": trial["values"], "params": trial["params"]}
