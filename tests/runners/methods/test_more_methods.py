"""KTO, ORPO, RLOO and distillation on the tiny shared workspace (see test_methods.py).

Each trains a few dozen steps and asserts that what the method optimises moved: KTO's
reward margin between desirable and undesirable completions, ORPO's preference accuracy,
RLOO's reward, the distillation loss of the student against its teacher.
"""

from __future__ import annotations

import json

import pytest

from repro.contract import paths
from tests.runners.methods.test_methods import _spec, trl_ws  # noqa: F401 - the fixture

# right answers are desirable, refusals not: feedback the tiny model can learn in seconds
FEEDBACK = {"source": {"path": "feedback.jsonl"}, "format": "feedback", "seed": 7}


@pytest.fixture(scope="module")
def more_ws(trl_ws):  # noqa: F811
    from runners.data.builtin.arithmetic import arithmetic_feedback
    from runners.prepare import prepare

    rows = [r if r["label"] else {**r, "completion": "I do not know"}
            for r in arithmetic_feedback(400, 7)]
    (trl_ws / "feedback.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    if not (trl_ws / paths.data_dir("feedback-test")).is_dir():
        prepare(FEEDBACK, trl_ws / paths.data_dir("feedback-test"), trl_ws)
    return trl_ws


def test_kto_separates_desirable_from_undesirable(more_ws):
    from runners.evaluate import evaluate
    from runners.train import train

    spec = _spec("sft-full", "feedback-test",
                 {"method": "kto", "max_steps": 30, "beta": 0.1, "desirable_weight": 1.0,
                  "undesirable_weight": 1.0}, ["exact_match"])
    metrics = train(spec, "t-kto", more_ws)
    assert metrics["last_margin"] > metrics["first_margin"] + 0.5
    record = json.loads((more_ws / "runs/t-kto/train.lineage.json").read_text())
    assert record["trainer"] == "KTOTrainer"
    scores = evaluate(spec, "t-kto", more_ws)
    # exact match is scored on the desirable rows only (their completion is the answer)
    test_rows = [json.loads(x) for x in
                 (more_ws / "runs/_data/feedback-test/test.jsonl").read_text().splitlines()]
    assert scores["n_examples"] == min(40, len(test_rows))
    assert 0 <= scores["exact_match"] <= 1 and "exact_match" in scores["base"]


def test_orpo_is_trls_experimental_trainer_and_learns_the_preference(more_ws):
    """Pins what repro relies on in trl.experimental.orpo: the class, its log keys, and
    that chosen answers end up more likely than rejected ones."""
    from trl.experimental.orpo import ORPOConfig

    from runners.evaluate import evaluate
    from runners.train import train

    assert ORPOConfig(output_dir="x", beta=0.2, report_to="none", use_cpu=True,
                      bf16=False).beta == 0.2
    spec = _spec("sft-full", "pref-test", {"method": "orpo", "max_steps": 30, "beta": 0.5},
                 ["preference_accuracy"])
    metrics = train(spec, "t-orpo", more_ws)
    assert metrics["last_margin"] > metrics["first_margin"]
    assert metrics["last_accuracy"] >= metrics["first_accuracy"]
    assert metrics["last_nll"] < metrics["first_nll"]
    record = json.loads((more_ws / "runs/t-orpo/train.lineage.json").read_text())
    assert record["trainer"] == "ORPOTrainer"
    scores = evaluate(spec, "t-orpo", more_ws)
    assert scores["reward_margin"] > scores["base"]["reward_margin"]


def test_rloo_with_a_verifiable_reward_raises_it(more_ws):
    from runners.train import train

    spec = _spec("sft-full", "echo-test",
                 {"method": "rloo", "reward": {"function": "numeric_closeness"}, "max_steps": 60,
                  "normalize_advantages": True,
                  "batch_size": 32, "num_generations": 8, "max_completion_length": 4,
                  "temperature": 1.0, "optimizer": {"name": "adamw", "lr": 0.003},
                  "log_every": 15},
                 ["exact_match"])
    metrics = train(spec, "t-rloo", more_ws)
    assert metrics["last_reward"] > 1.25 * metrics["first_reward"]
    record = json.loads((more_ws / "runs/t-rloo/train.lineage.json").read_text())
    assert record["trainer"] == "RLOOTrainer"


def test_rloo_takes_a_weighted_list_with_a_reward_model_spec(more_ws):
    from runners.train import train
    from tests.runners.methods.test_methods import test_reward_model_learns_to_rank

    if not (more_ws / "runs/t-reward/model").is_dir():
        test_reward_model_learns_to_rank(more_ws)
    spec = _spec("sft-full", "pref-test",
                 {"method": "rloo", "max_steps": 4,
                  "reward": [{"spec": "t-reward", "weight": 0.5},
                             {"function": "exact_match"}],
                  "batch_size": 16, "num_generations": 4, "max_completion_length": 4},
                 ["exact_match"])
    metrics = train(spec, "t-rloo-rm", more_ws)
    assert metrics["steps"] == 4
    record = json.loads((more_ws / "runs/t-rloo-rm/train.lineage.json").read_text())
    assert record["inputs"]["reward_models"][0]["spec"] == "t-reward"


def test_distillation_brings_the_student_closer_to_its_teacher(more_ws):
    from runners.train import train

    spec = _spec("pre", "arith-test",
                 {"method": "distill", "max_steps": 30, "temperature": 1.0, "beta": 0.5,
                  "max_completion_length": 4, "optimizer": {"name": "adamw", "lr": 0.003}},
                 ["exact_match"])
    spec["model"]["teacher"] = {"spec": "sft-full"}
    metrics = train(spec, "t-distill", more_ws)
    assert metrics["last_loss"] < 0.7 * metrics["first_loss"]
    record = json.loads((more_ws / "runs/t-distill/train.lineage.json").read_text())
    teacher = record["inputs"]["teacher"]
    assert teacher["spec"] == "sft-full" and teacher["sha256"]
    assert teacher["record"]["path"] == "runs/sft-full/train.lineage.json"
    assert record["trainer"] == "DistillationTrainer"
