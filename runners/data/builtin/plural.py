"""Built-in text-to-text and multiple-choice data over the grammar's vocabulary.

- ``plural``: instruction rows that rewrite a singular clause in the plural, a deterministic
  transformation with partial credit (BLEU, chrF and ROUGE mean something):
  ``{"instruction": "a happy dog sees the cat", "input": "", "output": "some happy dogs see
  the cats"}``.
- ``agreement``: a multiple-choice benchmark of subject-verb agreement (BLiMP-style minimal
  pairs, with attractor nouns): ``{"context": "the dogs near the cat", "choices": ["runs",
  "run"], "label": 1}``; shipped as ``tasks/agreement.jsonl`` (``python -m
  runners.data.builtin.plural`` rewrites it) and read through ``tasks/agreement.yaml``.
"""

from __future__ import annotations

import json
import random
import sys

from runners.data.builtin.grammar import (
    ADJECTIVES,
    ADVERBS,
    ANIMATE,
    INTRANSITIVE,
    NOUNS,
    PREPOSITIONS,
    TRANSITIVE,
)

DETS = {"the": "the", "a": "some", "this": "these", "that": "those", "every": "all",
        "one": "two"}
AGREEMENT_FILE = "tasks/agreement.jsonl"
AGREEMENT_SIZE, AGREEMENT_SEED = 200, 7


def _phrase(rng: random.Random, animate: bool) -> tuple[list[str], list[str]]:
    """A singular noun phrase and its plural: (determiner, [adjective], noun)."""
    sing, plur = rng.choice(NOUNS[:ANIMATE] if animate else NOUNS)
    det = rng.choice(list(DETS))
    adj = [rng.choice(ADJECTIVES)] if rng.random() < 0.4 else []
    return [det, *adj, sing], [DETS[det], *adj, plur]


def plural_row(rng: random.Random) -> dict[str, str]:
    subj_s, subj_p = _phrase(rng, True)
    if rng.random() < 0.5:
        v_s, v_p = rng.choice(INTRANSITIVE)
        tail = [rng.choice(ADVERBS)] if rng.random() < 0.4 else []
        s, p = [*subj_s, v_s, *tail], [*subj_p, v_p, *tail]
    else:
        v_s, v_p = rng.choice(TRANSITIVE)
        obj_s, obj_p = _phrase(rng, False)
        s, p = [*subj_s, v_s, *obj_s], [*subj_p, v_p, *obj_p]
    return {"instruction": " ".join(s), "input": "", "output": " ".join(p)}


def plural(size: int, seed: int) -> list[dict[str, str]]:
    """``size`` singular -> plural rewrites (drawn with replacement)."""
    rng = random.Random(seed)
    return [plural_row(rng) for _ in range(size)]


def agreement(size: int, seed: int) -> list[dict]:
    """``size`` two-way agreement items; half have an attractor of the other number."""
    rng = random.Random(seed)
    rows = []
    for _ in range(size):
        is_plural = rng.random() < 0.5
        sing, plur = rng.choice(NOUNS[:ANIMATE])
        det = rng.choice(["the", "these", "those", "some"] if is_plural else
                         ["the", "this", "that", "every"])
        words = [det, plur if is_plural else sing]
        if rng.random() < 0.5:  # an attractor noun of the other number in between
            a_s, a_p = rng.choice(NOUNS)
            words += [rng.choice(PREPOSITIONS), "the", a_s if is_plural else a_p]
        v_s, v_p = rng.choice(INTRANSITIVE)
        right, wrong = (v_p, v_s) if is_plural else (v_s, v_p)
        label = rng.randint(0, 1)
        choices = [right, wrong] if label == 0 else [wrong, right]
        rows.append({"context": " ".join(words), "choices": choices, "label": label})
    return rows


def agreement_jsonl() -> str:
    return "".join(json.dumps(r, sort_keys=True) + "\n"
                   for r in agreement(AGREEMENT_SIZE, AGREEMENT_SEED))


if __name__ == "__main__":  # rewrite the shipped benchmark file
    from pathlib import Path

    Path(sys.argv[1] if len(sys.argv) > 1 else AGREEMENT_FILE).write_text(agreement_jsonl())
