"""The ``train`` section: one model per ``method``, with optimizer, schedule, adapter and options."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    Discriminator,
    Field,
    Tag,
    model_validator,
)

from repro.spec.sections.common import Section, _by_key


class AdamW(Section):
    name: Literal["adamw"]
    lr: float = Field(3e-4, gt=0, le=10, description="learning rate")
    weight_decay: float = Field(0.0, ge=0)
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = Field(1e-8, gt=0)


class SGD(Section):
    name: Literal["sgd"]
    lr: float = Field(1e-2, gt=0, le=10, description="learning rate")
    momentum: float = Field(0.0, ge=0, lt=1)
    weight_decay: float = Field(0.0, ge=0)


class Adafactor(Section):
    """torch.optim.Adafactor: factored second moments, no first moment (little state)."""

    name: Literal["adafactor"]
    lr: float = Field(1e-2, gt=0, le=10, description="learning rate")
    weight_decay: float = Field(0.0, ge=0)
    beta2_decay: float = Field(-0.8, lt=0, description="decay exponent of the second moment")
    eps: tuple[float | None, float] = Field(
        (None, 1e-3), description="(eps1 for the denominator or null = dtype eps, eps2)"
    )


class AdamW8bit(Section):
    """bitsandbytes' AdamW with 8-bit blockwise optimizer state (tensors of 4096+ values)."""

    name: Literal["adamw_8bit"]
    lr: float = Field(3e-4, gt=0, le=10, description="learning rate")
    weight_decay: float = Field(0.0, ge=0)
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = Field(1e-8, gt=0)


Optimizer = Annotated[AdamW | SGD | Adafactor | AdamW8bit, Field(discriminator="name")]


class Scheduler(Section):
    name: Literal["constant", "linear", "cosine"] = "cosine"
    warmup_ratio: float = Field(0.0, ge=0, lt=1, description="fraction of steps spent warming up")
    warmup_steps: int | None = Field(
        None, ge=0, description="warmup length in optimizer steps; overrides warmup_ratio"
    )


class LoraOptions(Section):
    r: int = Field(8, gt=0, le=4096, description="rank")
    alpha: float = Field(16, gt=0)
    dropout: float = Field(0.0, ge=0, lt=1)
    target_modules: list[str] = Field(
        default_factory=lambda: ["q_proj", "v_proj"], min_length=1,
        description="module names (or name suffixes) that get an adapter",
    )
    modules_to_save: list[str] = Field(
        default_factory=list,
        description="modules trained in full and saved with the adapter (e.g. lm_head)",
    )


class Lora(LoraOptions):
    """LoRA (peft): low-rank updates to the target modules; only the adapter is saved."""

    kind: Literal["lora"]


class Dora(LoraOptions):
    """DoRA (peft use_dora): LoRA on the direction plus a learned magnitude per output."""

    kind: Literal["dora"]


class Qlora(LoraOptions):
    """QLoRA: the base model loaded in 4 bits through bitsandbytes, plus LoRA in full precision."""

    kind: Literal["qlora"]
    quant_type: Literal["nf4", "fp4"] = Field("nf4", description="4-bit data type")
    double_quant: bool = Field(True, description="quantize the quantization constants too")
    compute_dtype: Literal["fp32", "bf16"] = Field("fp32", description="matmul dtype")


Peft = Annotated[Lora | Dora | Qlora, Field(discriminator="kind")]


class Checkpoint(Section):
    """Resumable training: a killed run picks up from its last checkpoint when run again."""

    every: int = Field(100, gt=0, description="save every this many optimizer steps")
    keep: int = Field(2, gt=0, le=1000, description="keep the last this many checkpoints")
    keep_after_success: bool = Field(
        False, description="false: delete the checkpoints once the model is written"
    )


class Distributed(Section):
    """Run the train stage under `accelerate launch` (DDP by default)."""

    processes: int = Field(2, ge=1, le=4096, description="processes on this machine")
    cpu: bool = Field(
        False, description="CPU processes (gloo) even where CUDA exists; without CUDA always"
    )
    config_file: str | None = Field(
        None, description="an accelerate config (FSDP, DeepSpeed, ...), relative to the workspace"
    )


class TrainCommon(Section):
    optimizer: Optimizer = Field(default_factory=lambda: AdamW(name="adamw"))
    scheduler: Scheduler = Field(default_factory=Scheduler)
    max_steps: int | None = Field(None, gt=0, description="total optimizer steps")
    epochs: int | None = Field(None, gt=0, description="passes over the training split")
    batch_size: int = Field(16, gt=0, le=65536)
    grad_accum: int = Field(1, gt=0, le=4096, description="gradient accumulation steps")
    max_grad_norm: float | None = Field(1.0, gt=0, description="clip gradients; null = off")
    max_length: int = Field(
        64, gt=0, le=131072, description="tokens per example; longer ones are cut (and counted)"
    )
    packing: bool = Field(
        False, description="concatenate examples into full max_length blocks (no padding)"
    )
    log_every: int = Field(10, gt=0)
    precision: Literal["fp32", "bf16", "fp16"] = Field(
        "fp32", description="bf16: autocast (CPU or GPU); fp16: autocast + loss scaling, CUDA only"
    )
    gradient_checkpointing: bool = Field(
        False, description="recompute activations in backward: less memory, more compute"
    )
    checkpoint: Checkpoint | None = Field(None, description="null = no resumable checkpoints")
    distributed: Distributed | None = Field(
        None, description="null = one process; {processes: N} = accelerate launch"
    )

    @model_validator(mode="after")
    def _length(self) -> TrainCommon:
        if self.max_steps is not None and self.epochs is not None:
            raise ValueError("set max_steps or epochs, not both")
        if self.max_steps is None and self.epochs is None:
            self.epochs = 1
        return self


class Pretrain(TrainCommon):
    """Causal language modelling from scratch on text data."""

    method: Literal["pretrain"]


class Sft(TrainCommon):
    """Supervised fine-tuning; loss on response tokens only for instruction data."""

    method: Literal["sft"]
    peft: Peft | None = Field(
        None, description="null = full fine-tune; {kind: lora | dora | qlora, ...} = an adapter"
    )


class TrlSft(TrainCommon):
    """Supervised fine-tuning through TRL's SFTTrainer: chat templates, assistant-only loss
    and packing. Instruction rows train on the answer only (prompt/completion)."""

    method: Literal["trl-sft"]
    peft: Peft | None = Field(None, description="null = full fine-tune; {kind: lora, ...} = LoRA")
    assistant_only_loss: bool | None = Field(
        None,
        description="chat data: loss on the assistant turns only (the chat template needs "
        "{% generation %} markers); null = on for chat data",
    )
    packing: bool = Field(
        False,
        description="pack several examples into each max_length row (best-fit decreasing; "
        "examples never attend to each other)",
    )


class Dpo(TrainCommon):
    """Direct preference optimisation (TRL's DPOTrainer) on prompt/chosen/rejected pairs;
    the reference model is the base model."""

    method: Literal["dpo"]
    peft: Peft | None = Field(None, description="null = full fine-tune; {kind: lora, ...} = LoRA")
    beta: float = Field(0.1, gt=0, le=100, description="how strongly the policy stays near the reference")
    loss_type: Literal["sigmoid", "ipo", "hinge"] = Field(
        "sigmoid", description="sigmoid: the DPO paper's loss; ipo; hinge (SLiC)"
    )
    sft_weight: float = Field(
        0.0, ge=0, le=100,
        description="weight of an added NLL loss on the chosen answers (RPO), which keeps "
        "them likely while the pair's margin grows; 0 = plain DPO",
    )


class RewardModel(TrainCommon):
    """A reward model (TRL's RewardTrainer): the base language model with a one-output
    sequence-classification head, trained so chosen answers score above rejected ones."""

    method: Literal["reward"]
    center_rewards: float | None = Field(
        None, ge=0, description="coefficient pulling the mean reward towards 0; null = off"
    )


class FunctionReward(Section):
    """A verifiable reward computed in code from the data set's reference answer."""

    function: Literal["exact_match", "numeric_closeness"] = Field(
        description="exact_match: 1 when the completion equals the reference answer, else 0; "
        "numeric_closeness: 1 / (1 + |completion - answer|) for numbers, else 0"
    )
    weight: float = Field(1.0, gt=0, le=1000, description="weight in a sum of several rewards")


class SpecReward(Section):
    """The reward model trained by another spec (method: reward)."""

    spec: str = Field(description="a spec in this workspace whose train.method is reward")
    weight: float = Field(1.0, gt=0, le=1000, description="weight in a sum of several rewards")


RewardSource = Annotated[
    Annotated[FunctionReward, Tag("function")] | Annotated[SpecReward, Tag("spec")],
    Discriminator(
        _by_key("function", "spec"),
        custom_error_type="reward_kind",
        custom_error_message="must have one of the keys 'function' or 'spec'",
    ),
]


class OnlineRL(TrainCommon):
    """What GRPO and RLOO share: sample completions of the training prompts and score them
    with the reward. ``batch_size`` counts completions, so ``batch_size * grad_accum`` must
    be a multiple of ``num_generations``."""

    peft: Peft | None = Field(None, description="null = full fine-tune; {kind: lora, ...} = LoRA")
    reward: RewardSource | list[RewardSource] = Field(
        description="{function: exact_match}, {spec: <reward spec>}, or a list of them "
        "(their weighted sum)"
    )
    num_generations: int = Field(8, ge=2, le=1024, description="completions sampled per prompt")
    max_completion_length: int = Field(8, gt=0, le=131072, description="tokens per completion")
    temperature: float = Field(1.0, gt=0, le=10, description="sampling temperature")
    beta: float = Field(
        0.0, ge=0, description="KL penalty towards the base model; 0 = no reference model"
    )

    @model_validator(mode="after")
    def _groups(self) -> OnlineRL:
        if (self.batch_size * self.grad_accum) % self.num_generations:
            raise ValueError(
                f"batch_size * grad_accum ({self.batch_size * self.grad_accum}) must be a "
                f"multiple of num_generations ({self.num_generations})"
            )
        return self


class Grpo(OnlineRL):
    """Online RL with GRPO (TRL's GRPOTrainer): push up the completions that beat their
    group's mean reward."""

    method: Literal["grpo"]
    scale_rewards: Literal["group", "batch", "none"] = Field(
        "group",
        description="divide advantages by the reward std of the group or batch; none keeps "
        "the reward's own scale (Dr. GRPO), so small reward-model differences stay small",
    )


class Rloo(OnlineRL):
    """Online RL with RLOO (TRL's RLOOTrainer): each completion's advantage is its reward
    minus the mean reward of the other completions of the same prompt (leave one out)."""

    method: Literal["rloo"]
    normalize_advantages: bool = Field(
        False, description="scale the advantages of each batch to mean 0 and std 1"
    )


class Kto(TrainCommon):
    """Kahneman-Tversky optimisation (TRL's KTOTrainer) on unpaired binary feedback
    (prompt/completion/label); the reference model is the base model."""

    method: Literal["kto"]
    peft: Peft | None = Field(None, description="null = full fine-tune; {kind: lora, ...} = LoRA")
    beta: float = Field(0.1, gt=0, le=100, description="how strongly the policy stays near the reference")
    desirable_weight: float = Field(
        1.0, gt=0, le=100, description="weight of the loss on desirable completions"
    )
    undesirable_weight: float = Field(
        1.0, gt=0, le=100,
        description="weight of the loss on undesirable completions (raise the weight of the "
        "rarer kind so both sides count alike)",
    )


class Orpo(TrainCommon):
    """Odds-ratio preference optimisation (trl.experimental.orpo.ORPOTrainer, TRL's
    experimental namespace): an SFT loss on the chosen answers plus a log-odds-ratio
    penalty on the rejected ones; no reference model."""

    method: Literal["orpo"]
    peft: Peft | None = Field(None, description="null = full fine-tune; {kind: lora, ...} = LoRA")
    beta: float = Field(
        0.1, gt=0, le=100, description="weight of the odds-ratio term against the SFT loss (lambda)"
    )


class Distill(TrainCommon):
    """On-policy distillation (TRL's DistillationTrainer) from the teacher in
    ``model.teacher``: the student samples completions of the training prompts and learns
    the teacher's next-token distribution on them."""

    method: Literal["distill"]
    peft: Peft | None = Field(None, description="null = full fine-tune; {kind: lora, ...} = LoRA")
    temperature: float = Field(
        1.0, gt=0, le=10, description="temperature of sampling and of both distributions"
    )
    beta: float = Field(
        0.5, ge=0, le=1,
        description="the loss mix (generalised Jensen-Shannon): 0 = forward KL(teacher || "
        "student), 0.5 = JSD, 1 = reverse KL(student || teacher)",
    )
    max_completion_length: int = Field(8, gt=0, le=131072, description="tokens per completion")


TRL_METHODS = ("trl-sft", "dpo", "reward", "grpo", "rloo", "kto", "orpo", "distill")
# methods that keep a frozen copy of the base as their reference (none with an adapter)
REFERENCE_METHODS = ("dpo", "kto")


def reward_sources(train: Any) -> list[tuple[tuple[Any, ...], Any]]:
    """A train section's reward sources with their field paths (grpo, rloo; else none)."""
    reward = getattr(train, "reward", None)
    if reward is None:
        return []
    if isinstance(reward, list):
        return [(("train", "reward", i), r) for i, r in enumerate(reward)]
    return [(("train", "reward"), reward)]

Train = Annotated[
    Pretrain | Sft | TrlSft | Dpo | RewardModel | Grpo | Rloo | Kto | Orpo | Distill,
    Field(discriminator="method"),
]
