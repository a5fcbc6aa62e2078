"""Built-in arithmetic data: instruction rows, chats and preference pairs with exact answers.

- ``arithmetic``: instruction rows ``{"instruction": "17+5", "input": "", "output": "22"}``:
  a two-digit number plus or minus a one-digit number (results never negative).
- ``arithmetic-chat``: the same problems as conversations (``messages`` with roles).
- ``arithmetic-preference``: ``{"prompt", "chosen", "rejected"}`` pairs, chosen = the
  right answer, rejected = a near miss.
- ``arithmetic-feedback``: unpaired binary feedback ``{"prompt", "completion", "label"}``:
  the preference pairs split up, each question keeping one of its two answers.
"""

from __future__ import annotations

import random

Row = dict[str, str]

# --------------------------------------------------------------------------- arithmetic

ARITH_MAX_LEFT = 99  # left operand in 0..99
ARITH_MAX_RIGHT = 9  # right operand in 0..9
ARITH_OPS = ("+", "-")


def arithmetic_problem(rng: random.Random) -> Row:
    op = rng.choice(ARITH_OPS)
    b = rng.randint(0, ARITH_MAX_RIGHT)
    if op == "+":
        a = rng.randint(0, ARITH_MAX_LEFT)
        result = a + b
    else:
        a = rng.randint(b, ARITH_MAX_LEFT)
        result = a - b
    return {"instruction": f"{a}{op}{b}", "input": "", "output": str(result)}


def arithmetic(size: int, seed: int) -> list[Row]:
    """``size`` problems drawn with replacement (so the data has duplicates to clean)."""
    rng = random.Random(seed)
    return [arithmetic_problem(rng) for _ in range(size)]


# --------------------------------------------------------------------------- chat, preference


def arithmetic_chat(size: int, seed: int) -> list[dict]:
    """``size`` conversations of one to three arithmetic questions, each answered.

    ``{"messages": [{"role": "user", "content": "17+5"}, {"role": "assistant",
    "content": "22"}, ...]}``; about a third start with a system message.
    """
    rng = random.Random(seed)
    rows = []
    for _ in range(size):
        messages = []
        if rng.random() < 1 / 3:
            messages.append({"role": "system", "content": "Answer with the number only."})
        for _ in range(rng.randint(1, 3)):
            p = arithmetic_problem(rng)
            messages.append({"role": "user", "content": p["instruction"]})
            messages.append({"role": "assistant", "content": p["output"]})
        rows.append({"messages": messages})
    return rows


def arithmetic_preference(size: int, seed: int) -> list[Row]:
    """``size`` pairs ``{"prompt": "17+5", "chosen": "22", "rejected": "23"}``.

    The rejected answer is a near miss (off by 1 to 10, or the digits of the right
    answer reversed), never equal to the chosen one and never negative.
    """
    rng = random.Random(seed)
    rows = []
    for _ in range(size):
        p = arithmetic_problem(rng)
        right = int(p["output"])
        wrong = right
        while wrong == right or wrong < 0:
            if right >= 10 and rng.random() < 0.25:
                wrong = int(str(right)[::-1])
            else:
                wrong = right + rng.choice((-1, 1)) * rng.randint(1, 10)
        rows.append({"prompt": p["instruction"], "chosen": p["output"], "rejected": str(wrong)})
    return rows


def arithmetic_feedback(size: int, seed: int) -> list[dict]:
    """``size`` rows ``{"prompt": "17+5", "completion": "22", "label": true}``.

    Each comes from one preference pair (the same seed gives the same pairs): with
    probability one half it keeps the right answer (label true, desirable), else the near
    miss (label false), so the labels are about balanced but never paired.
    """
    rng = random.Random(seed + 1)  # the coin, apart from the pairs' own generator
    out = []
    for pair in arithmetic_preference(size, seed):
        good = rng.random() < 0.5
        out.append({"prompt": pair["prompt"], "completion": pair["chosen" if good else "rejected"],
                    "label": good})
    return out
