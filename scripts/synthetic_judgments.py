"""Synthetic judgments for a human-evaluation sheet: two scripted "annotators", for examples only.

    .venv/bin/python scripts/synthetic_judgments.py human/sft-lora-vs-full OUT_DIR

reads the sheet's ``sheet.csv`` (what an annotator sees: never the key) and writes
``OUT_DIR/judgments-script-exact.json`` (the answer equal to the reference wins; both: tie;
neither: both bad) and ``OUT_DIR/judgments-script-close.json`` (the answer numerically
closer to the reference wins; equally close: tie; neither a number: both bad), in the
format the HTML sheet saves. Import them with ``repro human import``. No person made them:
they only illustrate the pipeline (the shipped example's judgments come from here).
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path


def _num(text: str) -> float | None:
    try:
        return float(text.strip())
    except ValueError:
        return None


def exact(ref: str, a: str, b: str) -> str:
    return {(True, False): "A", (False, True): "B", (True, True): "tie"}.get(
        (a.strip() == ref.strip(), b.strip() == ref.strip()), "both_bad")


def close(ref: str, a: str, b: str) -> str:
    r, x, y = _num(ref), _num(a), _num(b)
    if r is None or (x is None and y is None):
        return "both_bad"
    dx = abs(x - r) if x is not None else float("inf")
    dy = abs(y - r) if y is not None else float("inf")
    return "tie" if dx == dy else ("A" if dx < dy else "B")


def main(sheet: str, out: str) -> None:
    rows = list(csv.DictReader((Path(sheet) / "sheet.csv").open(encoding="utf-8", newline="")))
    Path(out).mkdir(parents=True, exist_ok=True)
    for name, judge in (("script-exact", exact), ("script-close", close)):
        doc = {"human_judgments_version": 1, "sheet_id": rows[0]["sheet_id"], "annotator": name,
               "judgments": [{"item": int(r["item"]),
                              "verdict": judge(r["reference"], r["output_a"], r["output_b"])}
                             for r in rows]}
        Path(out, f"judgments-{name}.json").write_text(json.dumps(doc, indent=2) + "\n",
                                                       encoding="utf-8")


if __name__ == "__main__":
    main(*sys.argv[1:3])
