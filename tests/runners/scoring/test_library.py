"""The text metrics (our evaluate.Metric modules) on sacrebleu's and rouge-score's published
test vectors (sacrebleu test/test_bleu.py, test/test_chrf.py; rouge rouge_scorer_test.py)."""

from __future__ import annotations

import pytest

from runners.scoring import library

# sacrebleu's README example: two reference streams for three hypotheses
REFS = [["The dog bit the man.", "It was not unexpected.", "The man bit him first."],
        ["The dog had bit the man.", "No one was surprised.", "The man had bitten the dog."]]
HYPS = ["The dog bit the man.", "It wasn't surprising.", "The man had just bitten him."]
PER_HYP = [list(r) for r in zip(*REFS, strict=True)]


@pytest.mark.parametrize("options, expected", [
    ({}, 48.530827), ({"tokenize": "none"}, 49.1919566), ({"tokenize": "13a"}, 48.530827),
    ({"tokenize": "intl"}, 43.91623493), ({"smooth_method": "none"}, 48.530827),
])
def test_bleu_equals_sacrebleu_published_vectors(options, expected):
    res = library.compute("bleu", HYPS, PER_HYP, options)
    assert abs(res["bleu"] - expected) < 1e-6
    tok = options.get("tokenize", "13a")
    assert res["signature"].startswith(f"nrefs:2|case:mixed|eff:no|tok:{tok}|")
    assert res["signature"].endswith("|version:2.6.0")


def test_bleu_empty_hypotheses_score_zero_and_raw_vectors():
    assert library.compute("bleu", ["", "", ""], PER_HYP, {})["bleu"] == 0.0
    # raw_corpus_bleu cases: floor smoothing 0.01, no tokenizer, effective order
    raw = {"tokenize": "none", "smooth_method": "floor", "smooth_value": 0.01,
           "effective_order": True}
    # (sacrebleu 2.6 scores its first raw case, "ref1"/"ref2", 0.0 rather than the file's
    # 0.0038: left out; the others, and the effective-order cases, hold)
    for hyps, refs, want in [(["this is a test"], ["this is a test"], 1.0),
                             (["this is a fest"], ["this is a test"], 0.223606797749979),
                             (["test"], ["a test"], 0.3678794411714425),
                             (["a little test"], ["a test"], 0.03218297948685433)]:
        assert abs(library.compute("bleu", hyps, refs, raw)["bleu"] / 100 - want) < 1e-8


@pytest.mark.parametrize("hyps, refs, options, expected", [
    (["a"], ["a"], {"beta": 3}, 100.0),
    (["a", "b"], ["a", "c"], {"beta": 3}, 50.0),
    (["aa"], ["ab"], {"beta": 3}, 25.0),
    (["a b c"], ["abc"], {"beta": 3}, 100.0),
    (["a"], ["a"], {"beta": 3, "eps_smoothing": True}, 16.6667),
    (["risk assessment must be made of those who are qualified and expertise in the sector - "
      "these are the scientists ."],
     ["risk assessment has to be undertaken by those who are qualified and expert in that area "
      "- that is the scientists ."], {"beta": 3, "whitespace": True}, 65.2414427),
    (["Die Beziehung zwischen Obama und Netanjahu ist nicht gerade freundlich."],
     ["Das Verhältnis zwischen Obama und Netanyahu ist nicht gerade freundschaftlich."],
     {"beta": 3, "whitespace": True}, 67.3481606),
])
def test_chrf_equals_sacrebleu_published_vectors(hyps, refs, options, expected):
    res = library.compute("chrf", hyps, refs, options)
    assert abs(res["chrf"] - expected) < 1e-4
    assert "|nc:6|nw:0|" in res["signature"]


def test_rouge_equals_rouge_score_published_vectors():
    # rouge_scorer.score(target, prediction); our compute takes (predictions, references)
    def f(pred, ref):
        return library.compute("rouge", [pred], [ref], {})

    assert f("testing", "testing one two")["rouge1"] == pytest.approx(1 / 2)
    assert f("testing one", "testing one two")["rouge2"] == pytest.approx(2 / 3)
    assert f("testing one", "testing one two")["rougeL"] == pytest.approx(4 / 5)
    assert f("testing two", "testing one two")["rougeL"] == pytest.approx(4 / 5)
    # rougeLsum: summary-level LCS over newline-separated sentences
    lsum = f("w1 w2 w6 w7 w8\nw1 w3 w8 w9 w5", "w1 w2 w3 w4 w5")["rougeLsum"]
    assert lsum == pytest.approx(0.5333, abs=1e-3)
    assert f("", "testing one two") == {"rouge1": 0.0, "rouge2": 0.0, "rougeL": 0.0,
                                        "rougeLsum": 0.0}


def test_exact_match_normalisation_accuracy_f1():
    em = library.compute("exact_match", ["The Cat!", " dog"], ["the cat", "dog"], {})
    assert em["exact_match"] == 0.5
    em = library.compute("exact_match", ["The Cat!", " dog"], ["the cat", "dog"],
                         {"ignore_case": True, "ignore_punctuation": True})
    assert em["exact_match"] == 1.0
    em = library.compute("exact_match", ["answer: 4 2"], ["42"],
                         {"regexes_to_ignore": ["^answer: "], "ignore_whitespace": True})
    assert em["exact_match"] == 1.0
    assert library.compute("accuracy", ["a", "b", "b"], ["a", "a", "b"], {})["accuracy"] == \
        pytest.approx(2 / 3)
    # sklearn: labels a (P=1, R=.5, F=2/3) and b (P=.5, R=1, F=2/3)
    assert library.compute("f1", ["a", "b", "b"], ["a", "a", "b"], {})["f1"] == \
        pytest.approx(2 / 3)
    assert library.compute("f1", ["a", "b", "b"], ["a", "a", "b"],
                           {"average": "micro"})["f1"] == pytest.approx(2 / 3)


def test_user_metric_module_loads_by_path_through_evaluate_load(tmp_path):
    folder = tmp_path / "metrics" / "length_ratio"
    folder.mkdir(parents=True)
    (folder / "length_ratio.py").write_text(
        '"""Mean length of predictions over references."""\n'
        "import datasets\nimport evaluate\n\n\n"
        "class LengthRatio(evaluate.Metric):\n"
        "    def _info(self):\n"
        "        return evaluate.MetricInfo(description='ratio', citation='', features="
        "datasets.Features({'predictions': datasets.Value('string'), "
        "'references': datasets.Value('string')}))\n\n"
        "    def _compute(self, predictions, references, scale=1.0):\n"
        "        r = sum(map(len, predictions)) / sum(map(len, references))\n"
        "        return {'length_ratio': scale * r}\n")
    for path in ("metrics/length_ratio", "metrics/length_ratio/length_ratio.py"):
        res = library.compute(path, ["ab", "cd"], ["abcd", "abcd"], {"scale": 2.0}, tmp_path)
        assert res == {"length_ratio": 1.0}
    assert library.load("bleu").name == "bleu"  # built-ins never touch the Hub
