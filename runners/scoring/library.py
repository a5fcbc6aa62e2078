"""Text metrics as ``evaluate`` modules, offline: our own ``evaluate.Metric`` subclasses.

``evaluate.load("bleu")`` fetches a script from the Hugging Face Hub; these classes need no
script file and no network. Each computes with the library the field trusts: sacrebleu 2.6
(BLEU, chrF; the signature string is returned with the score), rouge-score 0.1.2 (ROUGE-1/2/L/
Lsum, sentences split on newlines), scikit-learn (accuracy, F1). ``load`` returns one of
these by name, or a user's metric module through ``evaluate.load(path)``.
"""

from __future__ import annotations

import re
import string
from pathlib import Path
from typing import Any

import datasets
import evaluate

_STR = datasets.Features({"predictions": datasets.Value("string"),
                          "references": datasets.Value("string")})
# one reference per prediction, or several (sacrebleu's multi-reference BLEU and chrF)
_MULTI = [datasets.Features({"predictions": datasets.Value("string"),
                             "references": datasets.Sequence(datasets.Value("string"))}), _STR]


def _streams(references) -> list[list[str]]:
    """Per-prediction references -> sacrebleu's reference streams (one list per reference)."""
    refs = [[r] if isinstance(r, str) else list(r) for r in references]
    n = max((len(r) for r in refs), default=1)
    if any(len(r) != n for r in refs):
        raise ValueError("every prediction needs the same number of references")
    return [[r[i] for r in refs] for i in range(n)]


def _info(description: str, features=_STR) -> evaluate.MetricInfo:
    return evaluate.MetricInfo(description=description, citation="", inputs_description=
                               "predictions: list of str; references: list of str",
                               features=features)


def bleu_score(predictions, references, tokenize="13a", lowercase=False, smooth_method="exp",
               smooth_value=None, effective_order=False) -> dict[str, Any]:
    from sacrebleu.metrics import BLEU

    bleu = BLEU(tokenize=tokenize, lowercase=lowercase, smooth_method=smooth_method,
                smooth_value=smooth_value, effective_order=effective_order, force=True)
    res = bleu.corpus_score(list(predictions), _streams(references))
    return {"bleu": res.score, "signature": str(bleu.get_signature())}


def chrf_score(predictions, references, char_order=6, word_order=0, beta=2, lowercase=False,
               whitespace=False, eps_smoothing=False) -> dict[str, Any]:
    from sacrebleu.metrics import CHRF

    chrf = CHRF(char_order=char_order, word_order=word_order, beta=beta, lowercase=lowercase,
                whitespace=whitespace, eps_smoothing=eps_smoothing)
    res = chrf.corpus_score(list(predictions), _streams(references))
    return {"chrf": res.score, "signature": str(chrf.get_signature())}


ROUGE_TYPES = ("rouge1", "rouge2", "rougeL", "rougeLsum")


def rouge_items(predictions, references, rouge_types=ROUGE_TYPES,
                use_stemmer=False) -> list[dict[str, float]]:
    """Per-item ROUGE F-measures (rougeLsum reads sentences from newlines: nltk's splitter
    needs data that is not here)."""
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(list(rouge_types), use_stemmer=use_stemmer,
                                      split_summaries=False)
    out = []
    for pred, ref in zip(predictions, references, strict=True):
        scores = scorer.score(ref, pred)
        out.append({t: scores[t].fmeasure for t in rouge_types})
    return out


class Bleu(evaluate.Metric):
    """Corpus BLEU (sacrebleu); one or several references per prediction."""

    def _info(self):
        return _info("sacrebleu corpus BLEU", _MULTI)

    def _compute(self, predictions, references, **options):
        return bleu_score(predictions, references, **options)


class Chrf(evaluate.Metric):
    """Corpus chrF / chrF++ (sacrebleu)."""

    def _info(self):
        return _info("sacrebleu corpus chrF", _MULTI)

    def _compute(self, predictions, references, **options):
        return chrf_score(predictions, references, **options)


class Rouge(evaluate.Metric):
    """Mean F-measure of ROUGE-1/2/L/Lsum (rouge-score), sentences split on newlines."""

    def _info(self):
        return _info("rouge-score F-measures")

    def _compute(self, predictions, references, rouge_types=ROUGE_TYPES, use_stemmer=False):
        items = rouge_items(predictions, references, rouge_types, use_stemmer)
        n = len(items)
        return {t: (sum(i[t] for i in items) / n if n else 0.0) for t in rouge_types}


def normalise(text: str, ignore_case=False, ignore_punctuation=False, ignore_whitespace=False,
              regexes_to_ignore=()) -> str:
    for rx in regexes_to_ignore:
        text = re.sub(rx, "", text)
    if ignore_case:
        text = text.lower()
    if ignore_punctuation:
        text = text.translate(str.maketrans("", "", string.punctuation))
    if ignore_whitespace:
        text = "".join(text.split())
    return text.strip()


class ExactMatch(evaluate.Metric):
    """Share of predictions equal to their reference after the same normalisation."""

    def _info(self):
        return _info("exact match after normalisation")

    def _compute(self, predictions, references, **options):
        hits = [normalise(p, **options) == normalise(r, **options)
                for p, r in zip(predictions, references, strict=True)]
        return {"exact_match": sum(hits) / len(hits) if hits else 0.0}


class Accuracy(evaluate.Metric):
    """scikit-learn's accuracy over string labels."""

    def _info(self):
        return _info("accuracy (scikit-learn)")

    def _compute(self, predictions, references):
        from sklearn.metrics import accuracy_score

        return {"accuracy": float(accuracy_score(references, predictions))}


class F1(evaluate.Metric):
    """scikit-learn's F1 over string labels (macro, micro or weighted)."""

    def _info(self):
        return _info("F1 (scikit-learn)")

    def _compute(self, predictions, references, average="macro"):
        from sklearn.metrics import f1_score

        return {"f1": float(f1_score(references, predictions, average=average, zero_division=0))}


BUILTIN = {"bleu": Bleu, "chrf": Chrf, "rouge": Rouge, "exact_match": ExactMatch,
           "accuracy": Accuracy, "f1": F1}


def load(name_or_path: str, root: str | Path = ".") -> evaluate.EvaluationModule:
    """A built-in metric by name (kept in memory: no cache files), or a user's metric module:
    a ``.py`` file or a folder holding ``<folder>.py``, loaded with ``evaluate.load(path)``."""
    if name_or_path in BUILTIN:
        return BUILTIN[name_or_path](keep_in_memory=True)
    path = Path(root) / name_or_path
    return evaluate.load(str(path), keep_in_memory=True)


def compute(metric: str, predictions: list[str], references: list[str], options: dict[str, Any],
            root: str | Path = ".") -> dict[str, Any]:
    """``load(metric).compute(...)`` with the options as keyword arguments."""
    return load(metric, root).compute(predictions=predictions, references=references, **options)
