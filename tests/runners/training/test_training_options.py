"""Optimizers, schedules, accumulation, clipping, gradient checkpointing and precision,
each trained for a few steps on the tiny pretrained model: every option must learn."""

import math

import pytest

from runners.data.examples import load_examples
from runners.errors import RunnerError
from runners.models import modeling
from runners.params import resolve_spec
from runners.train import SECTIONS
from runners.training.loop import fit
from runners.training.seeding import seed_everything
from tests.runners.conftest import base_params


def _setup(root, peft=None, **train):
    spec = resolve_spec(base_params()["specs"]["sft-full"], "sft-full", SECTIONS)
    t = spec["train"]
    t.update({"max_steps": 30, "log_every": 5, "scheduler": {"name": "constant"}}, **train)
    t["peft"] = peft
    ref = modeling.base_ref(spec["model"]["base"], root)
    data = root / "runs/_data/arith-test"
    gen = seed_everything(3)
    tok = modeling.resolve_tokenizer(data, ref)
    model = modeling.build_base(spec["model"]["base"], ref, tok, 3, peft)
    if peft is not None:
        model = modeling.add_adapter(model, peft, bool(t.get("gradient_checkpointing")))
    elif t.get("gradient_checkpointing"):
        modeling.enable_gradient_checkpointing(model)
    examples = load_examples(data, "train", 32).examples
    return model, examples, t, gen, tok


def _fit(root, peft=None, **train):
    model, examples, t, gen, tok = _setup(root, peft, **train)
    result = fit(model, examples, t, gen, tok.pad_token_id, say=lambda _: None)
    return result, model


@pytest.mark.parametrize(
    "optimizer",
    [
        {"name": "adamw", "lr": 0.003},
        {"name": "sgd", "lr": 0.3, "momentum": 0.9},
        {"name": "adafactor", "lr": 0.01},
        {"name": "adamw_8bit", "lr": 0.003},
    ],
    ids=lambda o: o["name"],
)
def test_every_optimizer_learns(pretrained, optimizer):
    result, _ = _fit(pretrained, optimizer=optimizer)
    assert result.last_loss < 0.8 * result.first_loss, optimizer["name"]


def test_adamw_8bit_keeps_8bit_state(pretrained):
    import torch

    from runners.training.optim import build_optimizer

    model, *_ = _setup(pretrained)
    opt = build_optimizer(list(model.parameters()), {"name": "adamw_8bit", "lr": 1e-3})
    assert type(opt).__name__ == "AdamW8bit"
    big = next(p for p in model.parameters() if p.numel() >= 4096)
    big.grad = torch.ones_like(big)
    opt.step()
    assert opt.state[big]["state1"].dtype == torch.uint8


def test_schedules_warm_up_then_decay(pretrained):
    result, _ = _fit(
        pretrained, scheduler={"name": "linear", "warmup_steps": 10}, log_every=1, max_steps=20
    )
    lrs = [lr for _, _, lr in result.log]
    peak = 0.005
    assert lrs[0] == pytest.approx(peak / 10)
    assert lrs[9] == pytest.approx(peak)  # warmed up after 10 steps
    assert lrs[10:] == sorted(lrs[10:], reverse=True) and lrs[-1] < peak / 5
    cos, _ = _fit(pretrained, scheduler={"name": "cosine", "warmup_ratio": 0.25}, log_every=1,
                  max_steps=20)
    assert [lr for _, _, lr in cos.log][4] == pytest.approx(peak)
    assert cos.log[-1][2] < 0.05 * peak


def test_grad_accumulation_uses_more_micro_batches(pretrained):
    result, _ = _fit(pretrained, grad_accum=3, max_steps=10)
    assert result.micro_batches == 30
    assert result.last_loss < result.first_loss


def test_clipping_bounds_the_update(pretrained):
    import torch

    model, examples, t, gen, tok = _setup(
        pretrained, optimizer={"name": "sgd", "lr": 1.0, "momentum": 0.0}, max_grad_norm=1e-3,
        max_steps=1,
    )
    before = [p.detach().clone() for p in model.parameters()]
    fit(model, examples, t, gen, tok.pad_token_id, say=lambda _: None)
    with torch.no_grad():
        delta = torch.sqrt(
            sum(((p - b) ** 2).sum() for p, b in zip(model.parameters(), before, strict=True))
        )
    assert float(delta) == pytest.approx(1e-3, rel=1e-3)  # lr * clip norm


def test_gradient_checkpointing_same_losses(pretrained):
    plain, _ = _fit(pretrained, max_steps=10, log_every=1)
    ckpt, model = _fit(pretrained, max_steps=10, log_every=1, gradient_checkpointing=True)
    assert model.is_activation_checkpointing
    for (_, a, _), (_, b, _) in zip(plain.log, ckpt.log, strict=True):
        assert a == pytest.approx(b, rel=1e-4)
    assert ckpt.last_loss < ckpt.first_loss


def test_bf16_autocast_learns(pretrained):
    fp32, _ = _fit(pretrained, max_steps=20)
    bf16, model = _fit(pretrained, max_steps=20, precision="bf16")
    assert bf16.last_loss < 0.8 * bf16.first_loss
    assert bf16.first_loss != fp32.first_loss  # the forward really ran in bf16
    assert abs(bf16.first_loss - fp32.first_loss) < 0.05
    assert next(model.parameters()).dtype.is_floating_point  # weights stay fp32
    assert str(next(model.parameters()).dtype) == "torch.float32"


def test_fp16_refused_without_cuda(pretrained):
    import torch

    if torch.cuda.is_available():  # pragma: no cover - this machine has no GPU
        pytest.fail("this test expects a machine without CUDA")
    with pytest.raises(RunnerError, match="fp16 needs a CUDA GPU"):
        _fit(pretrained, precision="fp16", max_steps=1)


def test_gpt2_from_config_learns(pretrained):
    from runners.training.loop import fit

    data = pretrained / "runs/_data/grammar-test"
    tok = modeling.load_tokenizer(data / "tokenizer")
    config = {"arch": "gpt2", "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 1,
              "num_attention_heads": 2, "max_position_embeddings": 64}
    model = modeling.build_from_config(config, tok, 5)
    assert type(model).__name__ == "GPT2LMHeadModel" and model.config.n_embd == 32
    again = modeling.build_from_config(config, tok, 5)
    assert all(a.equal(b) for a, b in zip(model.parameters(), again.parameters(), strict=True))
    examples = load_examples(data, "train", 48).examples
    train = resolve_spec(base_params()["specs"]["pre"], "pre", SECTIONS)["train"] | {"max_steps": 40}
    result = fit(model, examples, train, seed_everything(5), tok.pad_token_id, say=lambda _: None)
    assert result.last_loss < result.first_loss - 1.0
    assert not math.isnan(result.last_loss)
