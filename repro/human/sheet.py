"""Building a blind sheet: items (prompt x pair of specs) in seeded order, sides seeded too.

``build`` is a pure function: the same answers and seed give the same sheet, key and bytes.
The sheet (HTML and CSV) shows item numbers, prompts, references and the two answers as
A (left) and B (right), never a spec name; :class:`SheetKey` alone maps sides to specs.
"""

from __future__ import annotations

import csv
import hashlib
import io
import itertools
import random
from dataclasses import dataclass
from typing import Any

from repro.contract.fsio import canonical_json
from repro.contract.records.human import SheetKey
from repro.human.template import render

CSV_COLUMNS = ("sheet_id", "item", "prompt", "reference", "output_a", "output_b", "verdict",
               "annotator")


@dataclass
class Sheet:
    key: SheetKey
    html: str
    csv: str


def build(spec: str, seed: int, split: str, prompts: list[dict[str, Any]],
          outputs: dict[str, list[str]], models: dict[str, dict[str, Any]]) -> Sheet:
    """The sheet for ``outputs`` (spec -> one answer per prompt; ``spec``'s first).

    Every pair of specs is judged on every prompt; items are shuffled, and each item's
    sides flipped by a coin, from one ``random.Random(seed)``."""
    systems = list(outputs)
    rng = random.Random(seed)
    pairs = list(itertools.combinations(systems, 2))
    order = [(p["index"], a, b) for p in prompts for a, b in pairs]
    rng.shuffle(order)
    order = [(i, b, a) if rng.random() < 0.5 else (i, a, b) for i, a, b in order]
    by_index = {p["index"]: p for p in prompts}
    pos = {p["index"]: n for n, p in enumerate(prompts)}
    shown = [{"item": n, "prompt": by_index[i]["prompt"], "reference": by_index[i]["reference"],
              "a": outputs[a][pos[i]], "b": outputs[b][pos[i]]}
             for n, (i, a, b) in enumerate(order, 1)]
    sheet_id = hashlib.sha256(canonical_json(
        {"seed": seed, "spec": spec, "split": split, "items": shown, "order": order,
         "models": {s: m.get("sha256") for s, m in models.items()}}).encode()
    ).hexdigest()[:12]
    html = render(sheet_id, shown)
    table = _csv(sheet_id, shown)
    key = SheetKey(
        sheet_id=sheet_id, spec=spec, seed=seed, split=split,
        systems=[{"spec": s, **models[s]} for s in systems],
        items=[{"item": n, "prompt": i, "A": a, "B": b}
               for n, (i, a, b) in enumerate(order, 1)],
        files={"sheet.html": _sha(html), "sheet.csv": _sha(table)},
    )
    return Sheet(key, html, table)


def _csv(sheet_id: str, shown: list[dict[str, Any]]) -> str:
    buf = io.StringIO(newline="")
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    for it in shown:
        w.writerow([sheet_id, it["item"], it["prompt"], it["reference"], it["a"], it["b"], "", ""])
    return buf.getvalue()


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
