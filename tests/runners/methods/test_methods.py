"""The TRL-backed methods (trl-sft, dpo, reward, grpo) on the tiny shared workspace.

Each test trains a few dozen steps from the session's ``pre`` / ``sft-full`` models and
asserts that something measurable moved the right way, not just that it ran.
"""

from __future__ import annotations

import json

import pytest

from repro.contract import paths
from tests import specs
from tests.runners.conftest import base_params

CHAT = {"source": {"builtin": "arithmetic-chat", "size": 300}, "format": "chat", "seed": 7}
# answers preferred over refusals: a preference the tiny test model can learn in a few
# dozen steps (the built-in near misses need real arithmetic)
PREF = {"source": {"path": "refusals.jsonl"}, "format": "preference", "seed": 7}
# n+0 = n: answers a policy can find by sampling and then learn from the reward alone
ECHO = {"source": {"path": "echo.jsonl"}, "format": "instruction", "seed": 7}


# what every method test trains with, unless it says otherwise (sft-full's train is replaced)
TRAIN = {"optimizer": {"name": "adamw", "lr": 0.005}, "scheduler": {"name": "constant"},
         "batch_size": 16, "max_length": 32, "log_every": 5}


def _spec(base: str, data: str, train: dict, metrics: list[str]) -> dict:
    """Spec sft-full's params entry, trained from spec ``base`` on prepared data set ``data``."""
    return specs.spec(base_params()["specs"]["sft-full"],
                      {"data": data, "model.base": {"spec": base}, "train": {**TRAIN, **train}},
                      evaluate={"metrics": metrics, "max_examples": 40, "compare_base": True})


@pytest.fixture(scope="module")
def trl_ws(pretrained, sft_full):
    """The shared workspace with a chat and a preference data set prepared."""
    from runners.data.builtin.arithmetic import arithmetic_preference
    from runners.prepare import prepare

    rows = [{**r, "rejected": "I do not know"} for r in arithmetic_preference(400, 7)]
    (pretrained / "refusals.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    echo = [{"instruction": f"{n}+0", "input": "", "output": str(n)} for n in range(100)]
    (pretrained / "echo.jsonl").write_text("".join(json.dumps(r) + "\n" for r in echo))
    for key, dataset in (("chat-test", CHAT), ("pref-test", PREF), ("echo-test", ECHO)):
        if not (pretrained / paths.data_dir(key)).is_dir():
            prepare(dataset, pretrained / paths.data_dir(key), pretrained)
    return pretrained


def test_trl_sft_chat_trains_on_assistant_turns_only(trl_ws):
    from runners.params import resolve_spec
    from runners.train import SECTIONS, train

    spec = _spec("pre", "chat-test", {"method": "trl-sft", "max_steps": 30, "max_length": 64},
                 ["exact_match"])
    metrics = train(spec, "t-sft-chat", trl_ws)
    assert metrics["last_loss"] < metrics["first_loss"] - 0.5
    assert metrics["last_token_accuracy"] > metrics["first_token_accuracy"]
    log = (trl_ws / "runs/t-sft-chat/train_log.csv").read_text().splitlines()
    assert log[0] == "step,loss,lr,token_accuracy" and len(log) == 1 + 6
    # the saved tokenizer carries the chat template (with its generation markers)
    saved = json.loads((trl_ws / "runs/t-sft-chat/model/tokenizer_config.json").read_text())
    template = saved.get("chat_template") or (
        trl_ws / "runs/t-sft-chat/model/chat_template.jinja").read_text()
    assert "{% generation %}" in template
    assert resolve_spec(spec, "x", SECTIONS)["train"]["packing"] is False


def test_assistant_only_labels(trl_ws):
    """Labels are the token ids on assistant answers (and their EOS), -100 elsewhere."""
    from runners.data.chat import ensure_template
    from runners.methods import sft_trl
    from runners.methods.trl_common import Context, quiet_hf
    from runners.models import modeling
    from runners.params import resolve_spec
    from runners.train import SECTIONS

    s = resolve_spec(_spec("pre", "chat-test", {"method": "trl-sft", "max_steps": 1,
                                                "max_length": 64}, ["exact_match"]), "x", SECTIONS)
    ref = modeling.base_ref(s["model"]["base"], trl_ws)
    tok = modeling.resolve_tokenizer(trl_ws / paths.data_dir("chat-test"), ref)
    ensure_template(tok)
    model = modeling.build_base(s["model"]["base"], ref, tok, 7)
    row = {"messages": [{"role": "user", "content": "12+3"},
                        {"role": "assistant", "content": "15"},
                        {"role": "user", "content": "4-1"},
                        {"role": "assistant", "content": "3"}]}
    with quiet_hf():
        trainer = sft_trl.build(Context(s["train"], "chat", [row], model, tok, 7, trl_ws,
                                        str(trl_ws / "scratch")))
    ex = trainer.train_dataset[0]
    kept = [i for i, label in zip(ex["input_ids"], ex["labels"], strict=True) if label != -100]
    assert tok.decode(kept) == "15</s>3</s>"


def test_packing_fills_rows_and_still_learns(trl_ws):
    from runners.train import train

    spec = _spec("pre", "arith-test", {"method": "trl-sft", "max_steps": 30, "packing": True,
                                       "max_length": 64}, ["exact_match"])
    metrics = train(spec, "t-sft-packed", trl_ws)
    assert metrics["last_loss"] < metrics["first_loss"] - 0.5


def test_dpo_raises_chosen_over_rejected(trl_ws):
    from runners.evaluate import evaluate
    from runners.train import train

    spec = _spec("sft-full", "pref-test", {"method": "dpo", "max_steps": 30, "beta": 0.1},
                 ["preference_accuracy"])
    metrics = train(spec, "t-dpo", trl_ws)
    assert metrics["last_margin"] > metrics["first_margin"] + 0.5
    assert metrics["last_accuracy"] > metrics["first_accuracy"]
    scores = evaluate(spec, "t-dpo", trl_ws)
    assert set(scores) == {"n_examples", "preference_accuracy", "reward_margin", "base"}
    assert scores["reward_margin"] > scores["base"]["reward_margin"] + 1.0
    assert scores["preference_accuracy"] >= scores["base"]["preference_accuracy"]


def test_reward_model_learns_to_rank(trl_ws):
    from runners.evaluate import evaluate
    from runners.models import modeling
    from runners.train import train

    spec = _spec("sft-full", "pref-test",
                 {"method": "reward", "max_steps": 60, "optimizer": {"name": "adamw", "lr": 0.003}},
                 ["preference_accuracy"])
    metrics = train(spec, "t-reward", trl_ws)
    assert metrics["last_loss"] < metrics["first_loss"]
    assert modeling.is_reward_model(trl_ws / "runs/t-reward/model")
    scores = evaluate(spec, "t-reward", trl_ws)
    assert scores["preference_accuracy"] >= 0.95
    # the fresh head on the base scores both answers alike; the trained one separates them
    assert scores["reward_margin"] > scores["base"]["reward_margin"] + 2.0


def test_grpo_with_a_verifiable_reward_raises_it(trl_ws):
    from runners.train import train

    spec = _spec("sft-full", "echo-test",
                 {"method": "grpo", "reward": {"function": "numeric_closeness"}, "max_steps": 60,
                  "batch_size": 32, "num_generations": 8, "max_completion_length": 4,
                  "temperature": 1.0, "optimizer": {"name": "adamw", "lr": 0.003},
                  "log_every": 15},
                 ["exact_match"])
    metrics = train(spec, "t-grpo", trl_ws)
    assert metrics["last_reward"] > 1.25 * metrics["first_reward"]


def test_grpo_with_a_reward_model_spec_plus_a_function(trl_ws):
    from runners.train import train

    if not (trl_ws / "runs/t-reward/model").is_dir():
        test_reward_model_learns_to_rank(trl_ws)
    spec = _spec("sft-full", "pref-test",
                 {"method": "grpo", "max_steps": 10,
                  "reward": [{"spec": "t-reward"}, {"function": "numeric_closeness", "weight": 0.5}],
                  "batch_size": 16, "num_generations": 4, "max_completion_length": 4,
                  "optimizer": {"name": "adamw", "lr": 0.0005}},
                 ["exact_match"])
    metrics = train(spec, "t-grpo-rm", trl_ws)
    assert metrics["steps"] == 10
    assert metrics["last_reward"] > metrics["first_reward"]
    # the lineage record names the reward model by content hash and points at its record
    import json

    record = json.loads((trl_ws / "runs/t-grpo-rm/train.lineage.json").read_text())
    (rm,) = record["inputs"]["reward_models"]
    assert rm["spec"] == "t-reward" and rm["record"]["path"] == "runs/t-reward/train.lineage.json"
    assert record["trainer"] == "GRPOTrainer"


def test_exact_match_reward_function():
    from runners.methods.rewards import exact_match, numeric_closeness

    completions = [[{"role": "assistant", "content": " 22"}], [{"role": "assistant", "content": "23"}]]
    assert exact_match(completions, answer=["22", "22"]) == [1.0, 0.0]
    assert exact_match(["7 ", "x"], answer=["7", "7"]) == [1.0, 0.0]
    assert numeric_closeness(["7", "9", "seven"], answer=["7", "7", "7"]) == [1.0, 1 / 3, 0.0]
