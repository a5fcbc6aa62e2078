"""Rolling perplexity against a hand computation, and bits per byte against lm-eval's HFLM."""

from __future__ import annotations

import math

import pytest

from runners.scoring.rolling import rolling_metrics, windows

TEXTS = ["the dog runs quickly . the cats sleep near the river .", "anna says 3+4=7 .",
         "two dogs see a cat"]


@pytest.fixture(scope="module")
def model_and_tokenizer(pretrained):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    d = pretrained / "runs/pre/model"
    return AutoModelForCausalLM.from_pretrained(d), AutoTokenizer.from_pretrained(d), d


def test_windows_cover_every_target_once():
    for n, length, stride in [(10, 4, 2), (10, 4, 4), (3, 8, 8), (9, 5, 1)]:
        got = windows(n, length, stride)
        scored = [j for _, a, b in got for j in range(a, b)]
        assert scored == list(range(n))
        assert all(b - start <= length for start, _, b in got)


def _by_hand(model, tok, texts, length, stride):
    """Each target token scored in its own forward pass over exactly the context its window
    gives it: no batching, no padding, no window bookkeeping shared with the code."""
    import torch

    prefix = tok.bos_token_id if tok.bos_token_id is not None else tok.eos_token_id
    ll, n = 0.0, 0
    with torch.no_grad():
        for text in texts:
            x = [prefix] + tok(text, add_special_tokens=False)["input_ids"]
            for start, a, b in windows(len(x) - 1, length, stride):
                for j in range(a, b):  # target x[j+1], context x[start..j]
                    logits = model(input_ids=torch.tensor([x[start:j + 1]])).logits[0, -1]
                    ll += torch.log_softmax(logits.float(), -1)[x[j + 1]].item()
                    n += 1
    return ll, n


@pytest.mark.parametrize("length, stride", [(48, 48), (6, 3), (6, 6)])
def test_token_perplexity_equals_hand_computation(model_and_tokenizer, length, stride):
    model, tok, _ = model_and_tokenizer
    got = rolling_metrics(model, tok, TEXTS, ["token_perplexity", "bits_per_byte"],
                          {"max_length": length, "stride": stride}, batch_size=4)
    ll, n = _by_hand(model, tok, TEXTS, length, stride)
    assert got["settings"]["tokens"] == n
    assert got["token_perplexity"] == pytest.approx(math.exp(-ll / n), rel=1e-5)
    n_bytes = sum(len(t.encode()) for t in TEXTS)
    assert got["bits_per_byte"] == pytest.approx(-ll / n_bytes / math.log(2), rel=1e-5)
    s = got["settings"]
    assert (s["max_length"], s["stride"], s["bytes"], s["prefix"]) == (length, stride, n_bytes,
                                                                       "auto")
    assert s["documents"] == 3 and s["words"] == sum(len(t.split()) for t in TEXTS)


def test_bits_per_byte_equals_lm_eval(model_and_tokenizer):
    """lm-eval's loglikelihood_rolling (disjoint windows, prefix token) on the same model."""
    from lm_eval.api.instance import Instance
    from lm_eval.models.huggingface import HFLM

    model, tok, path = model_and_tokenizer
    for length in (48, 5):
        lm = HFLM(pretrained=str(path), batch_size=2, max_length=length, device="cpu")
        reqs = [Instance(request_type="loglikelihood_rolling", doc={}, arguments=(t,), idx=i)
                for i, t in enumerate(TEXTS)]
        ll = sum(lm.loglikelihood_rolling(reqs, disable_tqdm=True))
        n_bytes = sum(len(t.encode("utf-8")) for t in TEXTS)
        words = sum(len(t.split()) for t in TEXTS)
        ours = rolling_metrics(model, tok, TEXTS, ["bits_per_byte", "word_perplexity",
                                                   "byte_perplexity"],
                               {"max_length": length, "stride": length}, batch_size=3)
        assert ours["bits_per_byte"] == pytest.approx(-ll / n_bytes / math.log(2), rel=1e-5)
        assert ours["word_perplexity"] == pytest.approx(math.exp(-ll / words), rel=1e-5)
        assert ours["byte_perplexity"] == pytest.approx(math.exp(-ll / n_bytes), rel=1e-5)
        assert ours["settings"]["method"].startswith("disjoint windows")


def test_prefix_none_scores_one_token_fewer_per_text(model_and_tokenizer):
    model, tok, _ = model_and_tokenizer
    auto = rolling_metrics(model, tok, TEXTS, ["token_perplexity"], {}, 4)["settings"]
    none = rolling_metrics(model, tok, TEXTS, ["token_perplexity"], {"prefix": "none"}, 4)
    assert none["settings"]["tokens"] == auto["tokens"] - len(TEXTS)
    assert none["settings"]["prefix_token_id"] is None
