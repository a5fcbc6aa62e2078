"""Specs for KTO, ORPO, RLOO, distillation and chat templates: each mistake named at validate
time on its field, a teacher compiled in as a dependency, a template's text in the data key."""

from __future__ import annotations

import pytest
import yaml

from repro.cli import main
from repro.pipeline.compiler import compile_workspace
from repro.spec.workspace import load_workspace
from tests.conftest import make_workspace, tree_digest
from tests.specs import CHAT_DATA, FEEDBACK_DATA, PREFERENCE_DATA, line_of, spec, to_yaml

EM = {"evaluate.metrics": ["exact_match"]}
SMALL = {"hidden_size": 16, "intermediate_size": 32, "num_hidden_layers": 1,
         "num_attention_heads": 2}
STUDENT = spec("distill", {"model.base": {"config": SMALL}, "model.teacher": {"spec": "pre"}})

CASES = {
    "kto_without_feedback_data": (
        spec("kto", {"data": PREFERENCE_DATA}),
        ["train.method", "method 'kto' needs binary feedback data (prompt/completion/label)",
         "data.format is 'preference'", "arithmetic-feedback"],
    ),
    "kto_weight_out_of_range": (
        spec("kto", {"train.undesirable_weight": 0}),
        ["train.undesirable_weight", "must be > 0.0 (got 0)"],
    ),
    "feedback_data_for_sft": (
        spec("sft", {"data": FEEDBACK_DATA}),
        ["train.method", "'sft' needs text, instruction or chat data, not feedback rows"],
    ),
    "feedback_without_token_filters": (
        spec("kto", {"data": {**FEEDBACK_DATA, "clean": {"max_tokens": 10}}}),
        ["data.clean.max_tokens", "feedback data is not tokenized here"],
    ),
    "orpo_without_preference_data": (
        spec("orpo", {"data": FEEDBACK_DATA, **EM}),
        ["train.method", "method 'orpo' needs preference data"],
    ),
    "rloo_on_feedback": (
        spec("rloo", {"data": FEEDBACK_DATA}),
        ["train.method", "method 'rloo' needs prompts"],
    ),
    "rloo_groups": (
        spec("rloo", {"train.batch_size": 12, "train.num_generations": 8}),
        ["batch_size * grad_accum (12) must be a multiple of num_generations (8)"],
    ),
    "rloo_unknown_reward_spec": (
        spec("rloo", {"train.reward": [{"function": "exact_match"}, {"spec": "pree"}]}),
        ["train.reward.1.spec", "unknown reward spec 'pree'", "did you mean 'pre'?"],
    ),
    "distill_without_teacher": (
        spec("distill", {"model": {"base": {"spec": "pre"}}}),
        ["model:", "method 'distill' needs a teacher model", "model.teacher: {spec:"],
    ),
    "teacher_without_distill": (
        spec("sft", {"model.teacher": {"spec": "pre"}}),
        ["model.teacher", "a teacher is only used by method 'distill'"],
    ),
    "unknown_teacher": (
        spec("distill", {"model.teacher": {"spec": "pe"}}),
        ["model.teacher.spec", "unknown teacher spec 'pe'", "did you mean 'pre'?"],
    ),
    "teacher_with_another_vocabulary": (
        spec("distill", {"model.base": {"config": SMALL}, "model.teacher": {"spec": "pre"},
                         "data.tokenizer": {"kind": "bpe", "vocab_size": 300}}),
        ["specs/bad.yaml:", "model.teacher.spec", "the teacher 'pre' has a different vocabulary",
         "a tokenizer trained on the data of spec 'bad'", "token by token"],
    ),
    "distill_beta_out_of_range": (
        spec("distill", {"train.beta": 1.5}),
        ["train.beta", "must be <= 1.0 (got 1.5)"],
    ),
    "unknown_template_name": (
        spec("trl-sft", {"data": {**CHAT_DATA, "chat_template": "chatlm"}, **EM}),
        ["data", "'chatlm' is neither a template name (default, chatml, llama3, zephyr)"],
    ),
    "template_file_missing": (
        spec("trl-sft", {"data": {**CHAT_DATA, "chat_template": {"file": "t/x.jinja"}}, **EM}),
        ["data.chat_template.file", "chat template file 't/x.jinja' not found"],
    ),
    "template_file_outside": (
        spec("trl-sft", {"data": {**CHAT_DATA, "chat_template": {"file": "../x.jinja"}}, **EM}),
        ["data.chat_template.file", "outside the workspace"],
    ),
    "template_on_instruction_data": (
        spec("sft", {"data.chat_template": "chatml"}),
        ["data.chat_template", "only applies to chat, preference and feedback data"],
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_mistake_is_named(case, tmp_path, capsys):
    content, expected = CASES[case]
    ws = make_workspace(tmp_path, {"pre.yaml": spec("pretrain"), "bad.yaml": content})
    before = tree_digest(ws)
    code = main(["-C", str(ws), "validate"])
    out = capsys.readouterr()
    text = out.err + out.out
    assert code == 2, text
    for piece in expected:
        assert piece in text, f"{piece!r} not in:\n{text}"
    assert "Traceback" not in text and "specs/pre.yaml" not in text
    assert tree_digest(ws) == before


def test_vocabulary_error_points_at_the_teacher_line(tmp_path, capsys):
    text = to_yaml(CASES["teacher_with_another_vocabulary"][0])
    ws = make_workspace(tmp_path, {"pre.yaml": spec("pretrain"), "bad.yaml": text})
    assert main(["-C", str(ws), "validate"]) == 2
    err = capsys.readouterr().err
    assert f"specs/bad.yaml:{line_of(text, 'teacher')}:" in err


def test_each_new_method_validates(tmp_path, capsys):
    ws = make_workspace(tmp_path, {
        "pre.yaml": spec("pretrain"), "kto.yaml": spec("kto"), "orpo.yaml": spec("orpo"),
        "rloo.yaml": spec("rloo"), "student.yaml": STUDENT,
        "chat.yaml": spec("trl-sft", {"data": {**CHAT_DATA, "chat_template": "llama3"}, **EM}),
    })
    assert main(["-C", str(ws), "validate"]) == 0, capsys.readouterr().err


def test_a_teacher_is_a_dependency_and_lends_its_tokenizer(tmp_path):
    ws = make_workspace(tmp_path, {"pre.yaml": spec("pretrain"), "student.yaml": STUDENT})
    compiled = compile_workspace(ws, load_workspace(ws))
    graph = compiled.graph
    stage = graph.stage("train-student")
    assert "runs/pre/model" in stage.deps and "runs/pre/train.lineage.json" in stage.deps
    names = [s.name for s in graph.stages]
    assert names.index("train-pre") < names.index("train-student")
    assert "train-pre" in graph.upstream("student")
    params = yaml.safe_load(compiled.params_yaml)
    student = params["specs"]["student"]
    assert student["model"]["teacher"] == {"spec": "pre"}
    assert "teacher" not in params["specs"]["pre"]["model"]  # others' params as they were
    data = params["datasets"][student["data"]]
    assert data["tokenizer_from"] == {"data": params["specs"]["pre"]["data"]}


def test_the_template_text_is_in_the_data_key(tmp_path):
    def key_of(template, text=None):
        ws = tmp_path / str(len(list(tmp_path.iterdir())))
        ws.mkdir()
        if text is not None:
            (ws / "t.jinja").write_text(text)
        make_workspace(ws, {"pre.yaml": spec("pretrain"), "c.yaml": spec(
            "trl-sft", {"data": {**CHAT_DATA, "chat_template": template}, **EM})})
        compiled = compile_workspace(ws, load_workspace(ws))
        params = yaml.safe_load(compiled.params_yaml)
        key = params["specs"]["c"]["data"]
        return key, params["datasets"][key], compiled.graph.stage(f"prepare-{key}")

    from repro.contract.chat_templates import CHATML, template_hash

    k_named, d_named, _ = key_of("chatml")
    assert d_named["chat_template_hash"] == template_hash(CHATML)
    jinja = "{% for m in messages %}{% generation %}{{ m['content'] }}{% endgeneration %}{% endfor %}"
    k_file, d_file, stage = key_of({"file": "t.jinja"}, jinja)
    assert d_file["chat_template"] == {"file": "t.jinja"} and "t.jinja" in stage.deps
    assert d_file["chat_template_hash"] == template_hash(jinja)
    k_file2, _, _ = key_of({"file": "t.jinja"}, jinja + " ")  # one byte more: another key
    assert len({k_named, k_file, k_file2}) == 3
