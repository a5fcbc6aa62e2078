"""Built-in pretraining text: a small probabilistic grammar mixed with one-digit sums.

A few hundred words, subject-verb number agreement (also across relative clauses and with
digit counts), and sums written ``3+4=7``, so a tokenizer trained on it covers the digits
and ``+ - =`` the arithmetic task uses.
"""

from __future__ import annotations

import random

Row = dict[str, str]

# --------------------------------------------------------------------------- grammar

# (singular, plural)
NOUNS = [
    ("cat", "cats"),
    ("dog", "dogs"),
    ("bird", "birds"),
    ("horse", "horses"),
    ("fox", "foxes"),
    ("mouse", "mice"),
    ("rabbit", "rabbits"),
    ("wolf", "wolves"),
    ("bear", "bears"),
    ("duck", "ducks"),
    ("goat", "goats"),
    ("sheep", "sheep"),
    ("fish", "fish"),
    ("frog", "frogs"),
    ("owl", "owls"),
    ("lion", "lions"),
    ("tiger", "tigers"),
    ("monkey", "monkeys"),
    ("snake", "snakes"),
    ("cow", "cows"),
    ("child", "children"),
    ("man", "men"),
    ("woman", "women"),
    ("teacher", "teachers"),
    ("farmer", "farmers"),
    ("doctor", "doctors"),
    ("baker", "bakers"),
    ("pilot", "pilots"),
    ("singer", "singers"),
    ("painter", "painters"),
    ("student", "students"),
    ("king", "kings"),
    ("queen", "queens"),
    ("sailor", "sailors"),
    ("girl", "girls"),
    ("boy", "boys"),
    ("friend", "friends"),
    ("neighbor", "neighbors"),
    ("cook", "cooks"),
    ("guard", "guards"),
    ("apple", "apples"),
    ("book", "books"),
    ("ball", "balls"),
    ("box", "boxes"),
    ("cup", "cups"),
    ("hat", "hats"),
    ("key", "keys"),
    ("lamp", "lamps"),
    ("letter", "letters"),
    ("map", "maps"),
    ("stone", "stones"),
    ("tree", "trees"),
    ("flower", "flowers"),
    ("river", "rivers"),
    ("house", "houses"),
    ("garden", "gardens"),
    ("boat", "boats"),
    ("cake", "cakes"),
    ("chair", "chairs"),
    ("table", "tables"),
    ("door", "doors"),
    ("window", "windows"),
    ("bridge", "bridges"),
    ("hill", "hills"),
    ("road", "roads"),
    ("shoe", "shoes"),
    ("coin", "coins"),
    ("song", "songs"),
    ("story", "stories"),
    ("wheel", "wheels"),
    ("bell", "bells"),
    ("star", "stars"),
]
ANIMATE = 40  # the first 40 nouns can be subjects

NAMES = [
    "anna",
    "ben",
    "clara",
    "david",
    "emma",
    "felix",
    "greta",
    "hugo",
    "ida",
    "jonas",
    "karl",
    "lena",
    "max",
    "nora",
    "otto",
    "paula",
    "quinn",
    "rosa",
    "sam",
    "tara",
]

# (third person singular, plural)
INTRANSITIVE = [
    ("sleeps", "sleep"),
    ("runs", "run"),
    ("sings", "sing"),
    ("jumps", "jump"),
    ("waits", "wait"),
    ("laughs", "laugh"),
    ("falls", "fall"),
    ("swims", "swim"),
    ("walks", "walk"),
    ("smiles", "smile"),
    ("dances", "dance"),
    ("cries", "cry"),
    ("rests", "rest"),
    ("hides", "hide"),
    ("shouts", "shout"),
    ("works", "work"),
    ("plays", "play"),
    ("sits", "sit"),
    ("stands", "stand"),
    ("listens", "listen"),
    ("dreams", "dream"),
    ("wanders", "wander"),
    ("whistles", "whistle"),
    ("yawns", "yawn"),
]
TRANSITIVE = [
    ("sees", "see"),
    ("likes", "like"),
    ("finds", "find"),
    ("holds", "hold"),
    ("follows", "follow"),
    ("watches", "watch"),
    ("carries", "carry"),
    ("paints", "paint"),
    ("loves", "love"),
    ("hears", "hear"),
    ("pushes", "push"),
    ("pulls", "pull"),
    ("chases", "chase"),
    ("helps", "help"),
    ("counts", "count"),
    ("buys", "buy"),
    ("sells", "sell"),
    ("opens", "open"),
    ("cleans", "clean"),
    ("draws", "draw"),
    ("touches", "touch"),
    ("remembers", "remember"),
    ("forgets", "forget"),
    ("wants", "want"),
    ("keeps", "keep"),
    ("brings", "bring"),
    ("greets", "greet"),
    ("visits", "visit"),
]
ADJECTIVES = [
    "big",
    "small",
    "old",
    "young",
    "red",
    "blue",
    "green",
    "yellow",
    "happy",
    "sad",
    "quiet",
    "loud",
    "fast",
    "slow",
    "tall",
    "short",
    "brave",
    "shy",
    "clever",
    "lazy",
    "warm",
    "cold",
    "bright",
    "dark",
    "soft",
    "hard",
    "new",
    "tiny",
    "huge",
    "gentle",
    "angry",
    "calm",
    "proud",
    "kind",
    "strange",
    "funny",
    "white",
    "black",
    "golden",
    "wild",
]
ADVERBS = [
    "quickly",
    "slowly",
    "quietly",
    "loudly",
    "happily",
    "sadly",
    "often",
    "rarely",
    "today",
    "again",
    "always",
    "never",
    "gladly",
    "softly",
    "early",
    "late",
]
PREPOSITIONS = ["near", "under", "behind", "beside", "above", "inside", "across", "past", "by"]
DET_SINGULAR = ["the", "a", "this", "that", "every", "one"]
DET_PLURAL = ["the", "these", "those", "some", "many", "all", "two", "few"]
ARITH_VERBS = ["says", "writes", "knows", "checks", "learns", "shows"]


def _noun_phrase(rng: random.Random, plural: bool, animate: bool, depth: int = 0) -> str:
    nouns = NOUNS[:ANIMATE] if animate else NOUNS
    sing, plur = rng.choice(nouns)
    noun = plur if plural else sing
    if plural and rng.random() < 0.25:
        det = str(rng.randint(2, 99))  # digit counts agree too: "12 dogs run"
    elif not plural and rng.random() < 0.05:
        det = "1"
    else:
        det = rng.choice(DET_PLURAL if plural else DET_SINGULAR)
    words = [det]
    if rng.random() < 0.4:
        words.append(rng.choice(ADJECTIVES))
    words.append(noun)
    if depth == 0 and rng.random() < 0.2:
        words += [rng.choice(PREPOSITIONS), _noun_phrase(rng, rng.random() < 0.4, False, 1)]
    elif depth == 0 and animate and rng.random() < 0.2:
        words.append(_relative_clause(rng, plural))
    return " ".join(words)


def _relative_clause(rng: random.Random, head_plural: bool) -> str:
    if rng.random() < 0.5:  # subject relative: the verb agrees with the head noun
        return "that " + _verb(rng, INTRANSITIVE, head_plural)
    inner_plural = rng.random() < 0.4  # object relative: the verb agrees with the inner subject
    inner = _noun_phrase(rng, inner_plural, True, 1)
    return f"that {inner} {_verb(rng, TRANSITIVE, inner_plural)}"


def _verb(rng: random.Random, verbs: list[tuple[str, str]], plural: bool) -> str:
    sing, plur = rng.choice(verbs)
    return plur if plural else sing


def _subject(rng: random.Random) -> tuple[str, bool]:
    if rng.random() < 0.15:
        return rng.choice(NAMES), False
    plural = rng.random() < 0.45
    return _noun_phrase(rng, plural, True), plural


def _clause(rng: random.Random) -> str:
    subject, plural = _subject(rng)
    if rng.random() < 0.45:
        words = [subject, _verb(rng, INTRANSITIVE, plural)]
        if rng.random() < 0.35:
            words.append(rng.choice(ADVERBS))
    else:
        obj = _noun_phrase(rng, rng.random() < 0.4, False)
        words = [subject, _verb(rng, TRANSITIVE, plural), obj]
    return " ".join(words)


def _sum_fact(rng: random.Random) -> str:
    """A one-digit fact: ``3+4=7`` or ``9-5=4`` (never negative)."""
    a, b = rng.randint(0, 9), rng.randint(0, 9)
    if rng.random() < 0.5:
        return f"{a}+{b}={a + b}"
    a, b = max(a, b), min(a, b)
    return f"{a}-{b}={a - b}"


def _sentence(rng: random.Random) -> str:
    r = rng.random()
    if r < 0.15:
        return f"{rng.choice(NAMES)} {rng.choice(ARITH_VERBS)} {_sum_fact(rng)} ."
    if r < 0.25:
        subject, plural = _subject(rng)
        do = "do" if plural else "does"
        return f"{do} {subject} {_verb(rng, INTRANSITIVE, True)} ?"
    if r < 0.35:
        return f"{_clause(rng)} and {_clause(rng)} ."
    return f"{_clause(rng)} ."


def grammar(size: int, seed: int) -> list[Row]:
    """``size`` short paragraphs of one to three sentences."""
    rng = random.Random(seed)
    return [
        {"text": " ".join(_sentence(rng) for _ in range(rng.randint(1, 3)))} for _ in range(size)
    ]
