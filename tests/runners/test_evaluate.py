import json

from repro.contract import paths
from repro.contract.hashing import sha256_file
from runners.evaluate import evaluate
from tests.runners.conftest import base_params


def test_pretrain_beats_untrained_init(pretrained):
    metrics = evaluate(base_params()["specs"]["pre"], "pre", pretrained)
    assert set(metrics) == {"perplexity", "n_examples", "base"}
    assert metrics["n_examples"] == 20
    assert 1.0 < metrics["perplexity"] < 100
    # the untrained init is near-uniform over a 300-token vocabulary
    assert metrics["base"]["perplexity"] > 150
    assert metrics["base"]["perplexity"] > 4 * metrics["perplexity"]


def test_instruction_metrics_are_sane_and_stable(pretrained, sft_full):
    spec = base_params()["specs"]["sft-full"]
    metrics = evaluate(spec, "sft-full", pretrained)
    path = pretrained / "runs/sft-full" / paths.METRICS
    first = path.read_bytes()
    assert json.loads(first) == metrics
    assert set(metrics) == {"perplexity", "exact_match", "n_examples", "base",
                            "exact_match_stderr", "ci95", "settings"}
    assert metrics["settings"]["generation"] == {
        "do_sample": False, "temperature": 1.0, "top_p": 1.0, "top_k": None, "stop": [],
        "seed": 7, "max_new_tokens": 4, "batch_size": 8}
    lo, hi = metrics["ci95"]["exact_match"]
    assert lo <= metrics["exact_match"] <= hi
    assert metrics["n_examples"] == 16
    assert 0.0 <= metrics["exact_match"] <= 1.0
    assert metrics["perplexity"] >= 1.0
    assert metrics["base"]["exact_match"] == 0.0
    assert metrics["perplexity"] < metrics["base"]["perplexity"]
    for value in [metrics["perplexity"], metrics["base"]["perplexity"]]:
        assert round(value, 6) == value
    evaluate(spec, "sft-full", pretrained)
    assert path.read_bytes() == first  # no timings: identical bytes


def test_lora_model_loads_base_plus_adapter(pretrained, sft_lora):
    metrics = evaluate(base_params()["specs"]["sft-lora"], "sft-lora", pretrained)
    assert metrics["perplexity"] < metrics["base"]["perplexity"]
    lineage = json.loads((pretrained / "runs/sft-lora" / paths.EVAL_LINEAGE).read_text())
    assert lineage["stage"] == "evaluate"
    model = lineage["inputs"]["model"]
    assert model["path"] == "runs/sft-lora/model"
    # chained: the evaluated model points at the record of the stage that trained it
    train_record = pretrained / "runs/sft-lora" / paths.TRAIN_LINEAGE
    assert model["record"] == {"path": "runs/sft-lora/train.lineage.json",
                               "sha256": sha256_file(train_record)}


def test_evaluate_reads_no_train_params(pretrained, sft_lora):
    """dvc.yaml lists no train.* params for evaluate: the model directory says it all."""
    spec = base_params()["specs"]["sft-lora"]
    full = evaluate(spec, "sft-lora", pretrained)
    del spec["train"]
    assert evaluate(spec, "sft-lora", pretrained) == full


def test_scoring_a_perfect_answer_list():
    from runners.scoring.metrics import exact_match

    expected = ["3", " 10 "]
    assert exact_match(["3", "10"], expected) == 1.0
    assert exact_match(["3", "1"], expected) == 0.5


def test_chat_data_trains_and_scores_through_the_template(pretrained, tmp_path):
    """Chat rows: prepared through the default template, trained on assistant tokens only,
    and scored by generating after the conversation's last user turn."""
    import shutil

    import yaml

    from runners.evaluate import evaluate
    from runners.prepare import prepare
    from runners.train import train

    root = tmp_path / "chat"
    shutil.copytree(pretrained / "runs", root / "runs")
    params = yaml.safe_load((pretrained / "params.yaml").read_text())
    chat = {"source": {"builtin": "arithmetic-chat", "size": 300}, "format": "chat", "seed": 7,
            "tokenizer": None, "tokenizer_from": {"data": "grammar-test"}}
    spec = params["specs"]["sft-full"] | {"data": "chat-test"}
    spec["train"] = spec["train"] | {"max_steps": 30, "max_length": 48}
    params["datasets"]["chat-test"] = chat
    params["specs"]["sft-chat"] = spec
    (root / "params.yaml").write_text(yaml.safe_dump(params))
    prepare(chat, root / "runs/_data/chat-test", root)
    metrics = train(spec, "sft-chat", root)
    assert metrics["last_loss"] < metrics["first_loss"]
    scores = evaluate(spec, "sft-chat", root)
    assert 0.0 <= scores["exact_match"] <= 1.0 and scores["n_examples"] == 16
    assert scores["perplexity"] < scores["base"]["perplexity"]
