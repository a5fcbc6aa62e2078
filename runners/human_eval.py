"""Stage ``human_eval``: score the judgments of a spec's blind side-by-side sheet.

    python -m runners.human_eval <spec-name>   # -> runs/<spec>/{human_eval.json, human_eval.lineage.json}

Reads ``<sheet>/key.json`` and every ``<sheet>/judgments/<annotator>.json`` (checked again,
as ``repro human import`` checks them), and writes win rates with Wilson intervals, ties
and both-bad counts per pair of specs, Bradley-Terry strengths with seeded bootstrap
intervals (more than two specs), and agreement between annotators (Cohen's or Fleiss'
kappa) on items judged more than once. No timings: the same judgments give the same bytes.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from repro.contract import paths
from repro.contract.fsio import dump_json, write_text_atomic
from repro.contract.hashing import sha256_file
from repro.contract.records import RecordError
from repro.contract.records.human import JUDGMENTS_DIR, KEY_FILE, SheetKey
from repro.contract.records.lineage import StageLineage
from repro.contract.secrets import redact
from repro.spec.judgments import check_json
from repro.spec.sections.human_eval import HumanEval
from repro.spec.sections.tracking import Tracking
from runners import entry
from runners.errors import RunnerError
from runners.records import lineage
from runners.records.tracking import StageRun, flatten
from runners.scoring.human import score_judgments

STAGE = "human_eval"


def load_sheet(root: Path, sheet: str) -> tuple[SheetKey, list[dict[str, Any]], list[Path]]:
    """The key, every judgment (``item``, ``annotator``, ``verdict``) and the files read."""
    try:
        key = SheetKey.read(root / sheet / KEY_FILE)
    except RecordError as e:
        raise RunnerError(str(e)) from None
    files = sorted((root / sheet / JUDGMENTS_DIR).glob("*.json"))
    if not files:
        raise RunnerError(f"{sheet}/{JUDGMENTS_DIR}/: no judgments to score (import some with "
                          "'repro human import')")
    rows, problems = [], []
    for f in files:
        rel = f.relative_to(root).as_posix()
        j, bad = check_json(f, key, rel)
        if j is None:
            problems += bad
            continue
        if f.stem != j.annotator:
            problems.append(f"{rel}: annotator: the file of '{f.stem}' holds the judgments of "
                            f"'{j.annotator}' (rename it {j.annotator}.json)")
        rows += [{"item": x.item, "annotator": j.annotator, "verdict": x.verdict}
                 for x in j.judgments]
    if problems:
        raise RunnerError("bad judgments file(s):\n" + "\n".join(problems))
    return key, rows, files


def human_eval(spec: dict[str, Any], name: str, root: str | Path = ".", *,
               command: str | None = None) -> dict:
    """Score spec ``name``'s sheet (``spec`` = its params.yaml entry); returns the metrics."""
    root = Path(root)
    if not spec.get("human_eval"):
        raise RunnerError(f"{paths.PARAMS_FILE}: specs.{name}.human_eval: missing")
    h = HumanEval.model_validate(spec["human_eval"]).model_dump()
    tracking = Tracking.model_validate(spec.get("tracking") or {}).model_dump()
    key, rows, files = load_sheet(root, h["sheet"])
    systems = [s.spec for s in key.systems]
    if key.spec != name or systems != [name, *h["against"]]:
        raise RunnerError(f"{h['sheet']}/{KEY_FILE} compares {', '.join(systems)} for "
                          f"{key.spec}, but the spec now asks for {', '.join([name, *h['against']])}: "
                          f"re-export the sheet (repro human export {name})")
    started, git = lineage.now(), lineage.git_info(root)
    run = StageRun.start(spec={"tracking": tracking}, name=name, stage=STAGE, root=root,
                         params=redact(flatten({"human_eval": h})),
                         tags={"repro.stage": STAGE, "repro.git_commit": git.get("commit"),
                               "repro.sheet_id": key.sheet_id})
    try:
        metrics = {"sheet_id": key.sheet_id, **score_judgments(
            systems, rows, key.sides(), bootstrap=h["bootstrap"], seed=h["seed"],
            confidence=h["confidence"])}
        out = paths.spec_dir(name)
        write_text_atomic(root / out / paths.HUMAN_METRICS, dump_json(metrics))
        record = StageLineage(
            stage=STAGE, spec=name, command=command, params=redact(spec),
            inputs={
                "sheet_key": _ref(root, root / h["sheet"] / KEY_FILE),
                "judgments": [_ref(root, f) for f in files],
                "systems": [{"spec": s.spec, "path": s.path, "sha256": s.sha256,
                             "record": s.record} for s in key.systems],
            },
            code=lineage.code(STAGE), environment=lineage.environment(root),
            determinism={"seed": h["seed"], "seeds": {"bootstrap": h["seed"],
                                                      "sheet": key.seed}},
            outputs=lineage.outputs(root, [out / paths.HUMAN_METRICS]),
        )
        record_file = root / out / paths.HUMAN_LINEAGE
        record.write(record_file)
        run_record = lineage.run_record(
            stage=STAGE, name=name, root=root, record_file=record_file, git=git,
            started=started, command=command,
            environment_=record.environment.model_dump(),
            tracking={"mlflow_run_id": run.run_id, "tracking_uri": run.uri})
        run_record.write(root / out / paths.HUMAN_RUN)
    except BaseException:
        run.finish(failed=True)
        raise
    run.log_metrics({k: v for k, v in flatten(metrics).items()
                     if isinstance(v, int | float) and not isinstance(v, bool)})
    run.finish([root / out / paths.HUMAN_METRICS, record_file, root / out / paths.HUMAN_RUN])
    print(f"scored {name}: {summary(metrics)} -> {out / paths.HUMAN_METRICS}")
    return metrics


def _ref(root: Path, f: Path) -> dict[str, str]:
    return {"path": f.relative_to(root).as_posix(), "sha256": sha256_file(f)}


def summary(metrics: dict[str, Any]) -> str:
    parts = [f"{metrics['n_judgments']} judgments of {metrics['n_items']} items by "
             f"{len(metrics['annotators'])} annotator(s)"]
    for pair, t in metrics["pairs"].items():
        rate = "-" if t["win_rate"] is None else (f"{t['win_rate']:.3f} "
                                                  f"[{t['win_rate_low']:.3f}, {t['win_rate_high']:.3f}]")
        parts.append(f"{pair.replace('_vs_', ' over ')}: win rate {rate}, ties {t['ties']}, "
                     f"both bad {t['both_bad']}")
    agree = metrics.get("agreement")
    if agree:
        parts.append(f"{agree['method']} kappa {agree['kappa']} on {agree['n_items']} items")
    return "; ".join(parts)


def main(argv: list[str] | None = None) -> int:
    return entry.spec_stage_main(STAGE, "Score the judgments of one spec's human-evaluation "
                                 "sheet.", human_eval, argv)


if __name__ == "__main__":
    sys.exit(main())
