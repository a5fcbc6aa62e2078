"""Specs for the TRL methods: method/data mismatches named at validate time, and a GRPO
stage's reward spec compiled in as a dependency."""

from __future__ import annotations

import pytest
import yaml

from repro.cli import main
from repro.pipeline.compiler import compile_workspace
from repro.spec.workspace import load_workspace
from tests.conftest import make_workspace, tree_digest
from tests.specs import CHAT_DATA, PREFERENCE_DATA, spec

EM = {"evaluate.metrics": ["exact_match"]}


def grpo_rm(reward, **paths) -> dict:
    """A GRPO spec on preference prompts, rewarded by ``reward``."""
    return spec("grpo", {"data": PREFERENCE_DATA, "train.reward": reward, **paths})


REWARD = spec("reward")
GRPO_RM = grpo_rm({"spec": "rm"})

CASES = {
    "dpo_without_preference_data": (
        spec("sft", {"train.method": "dpo", **EM}),
        ["specs/bad.yaml:9:", "train.method", "method 'dpo' needs preference data",
         "data.format is 'instruction'"],
    ),
    "reward_without_preference_data": (
        spec("reward", {"data": CHAT_DATA}),
        ["train.method", "method 'reward' needs preference data", "data.format is 'chat'"],
    ),
    "assistant_only_loss_without_chat": (
        spec("trl-sft", {"train.assistant_only_loss": True, **EM}),
        ["train.assistant_only_loss", "needs chat data"],
    ),
    "chat_template_without_markers": (
        spec("trl-sft", {"data": {**CHAT_DATA, "chat_template":
                                  "{% for m in messages %}{{ m['content'] }}{% endfor %}"}, **EM}),
        ["data.chat_template", "{% generation %}"],
    ),
    "grpo_on_text": (
        spec("pretrain", {"train.method": "grpo", "train.reward": {"function": "exact_match"},
                          "train.num_generations": 4}),
        ["train.method", "method 'grpo' needs prompts"],
    ),
    "grpo_unknown_reward_spec": (
        grpo_rm({"spec": "rmm"}),
        ["specs/bad.yaml:", "train.reward.spec", "unknown reward spec 'rmm'", "did you mean 'rm'?"],
    ),
    "grpo_reward_list_names_the_entry": (
        grpo_rm([{"function": "exact_match"}, {"spec": "rmm", "weight": 0.5}]),
        ["specs/bad.yaml:", "train.reward.1.spec", "unknown reward spec 'rmm'"],
    ),
    "grpo_reward_spec_not_a_reward_model": (
        grpo_rm({"spec": "pre"}),
        ["train.reward.spec", "spec 'pre' trains with method 'pretrain', not a reward model"],
    ),
    "grpo_groups": (
        grpo_rm({"spec": "rm"}, **{"train.batch_size": 12, "train.num_generations": 8}),
        ["train", "batch_size * grad_accum (12) must be a multiple of num_generations (8)"],
    ),
    "reward_model_as_base": (
        spec("sft", {"model.base.spec": "rm"}),
        ["model.base.spec", "trains a reward model (a classifier)"],
    ),
    "reward_model_cannot_generate": (
        spec("reward", EM),
        ["evaluate.metrics", "cannot generate", "exact_match"],
    ),
    "preference_accuracy_without_pairs": (
        spec("sft", {"evaluate.metrics": ["preference_accuracy"]}),
        ["evaluate.metrics", "preference_accuracy needs preference data"],
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_mismatch_is_named(case, tmp_path, capsys):
    content, expected = CASES[case]
    ws = make_workspace(tmp_path, {"pre.yaml": spec("pretrain"), "rm.yaml": REWARD,
                                   "bad.yaml": content})
    before = tree_digest(ws)
    code = main(["-C", str(ws), "validate"])
    out = capsys.readouterr()
    text = out.err + out.out
    assert code == 2, text
    for piece in expected:
        assert piece in text, f"{piece!r} not in:\n{text}"
    assert "Traceback" not in text
    assert "specs/rm.yaml" not in text and "specs/pre.yaml" not in text
    assert tree_digest(ws) == before


def test_reward_spec_cycle_is_named(tmp_path, capsys):
    # rm is trained from the grpo spec that uses rm as its reward: a loop
    rm = spec("reward", {"model.base.spec": "bad"})
    ws = make_workspace(tmp_path, {"pre.yaml": spec("pretrain"), "rm.yaml": rm, "bad.yaml": GRPO_RM})
    assert main(["-C", str(ws), "validate"]) == 2
    text = capsys.readouterr().err
    assert "cycle of spec dependencies" in text


def test_grpo_stage_depends_on_its_reward_model(tmp_path):
    ws = make_workspace(tmp_path, {"pre.yaml": spec("pretrain"), "rm.yaml": REWARD,
                                   "grpo.yaml": GRPO_RM})
    compiled = compile_workspace(ws, load_workspace(ws))
    stage = compiled.graph.stage("train-grpo")
    assert "runs/rm/model" in stage.deps and "runs/pre/model" in stage.deps
    names = [s.name for s in compiled.graph.stages]
    assert names.index("train-rm") < names.index("train-grpo")
    # the reward model's train stage is upstream of grpo's evaluate (skip on failure)
    assert "train-rm" in compiled.graph.upstream("grpo")
    params = yaml.safe_load(compiled.params_yaml)["specs"]["grpo"]["train"]
    assert params["reward"] == {"spec": "rm", "weight": 1.0} and params["num_generations"] == 8


def test_a_reward_list_compiles_to_weighted_sources(tmp_path):
    mixed = grpo_rm([{"spec": "rm", "weight": 0.5}, {"function": "exact_match"}])
    ws = make_workspace(tmp_path, {"pre.yaml": spec("pretrain"), "rm.yaml": REWARD,
                                   "grpo.yaml": mixed})
    compiled = compile_workspace(ws, load_workspace(ws))
    assert "runs/rm/model" in compiled.graph.stage("train-grpo").deps
    reward = yaml.safe_load(compiled.params_yaml)["specs"]["grpo"]["train"]["reward"]
    assert reward == [{"spec": "rm", "weight": 0.5},
                      {"function": "exact_match", "weight": 1.0}]


def test_shipped_chains_validate():
    from tests.conftest import ROOT

    entries = {e.name: e for e in load_workspace(ROOT)}
    for name in ("trl-sft-chat", "trl-reward", "trl-grpo", "trl-dpo"):
        assert entries[name].ok, entries[name].errors
    grpo = entries["trl-grpo"].spec
    assert grpo.spec_refs() == [(("model", "base", "spec"), "trl-sft-chat"),
                                (("train", "reward", 0, "spec"), "trl-reward")]


def test_show_puts_preference_accuracy_next_to_the_base_scores():
    from repro.results.show import HEADERS, metric_cells

    metrics = {"exact_match": 0.5, "preference_accuracy": 0.9,
               "base": {"exact_match": 0.4, "preference_accuracy": 0.8}}
    cells = dict(zip(HEADERS, metric_cells(metrics), strict=True))
    assert cells["pref_acc"] != "-" and cells["perplexity"] == "-"
    assert cells["base score"].startswith("em ") and ", pref " in cells["base score"]
