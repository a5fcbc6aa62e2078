"""Spec schema, version 2 (pydantic v2).

One model per section; ``extra="forbid"`` everywhere so a typo is an error, not a
silently ignored key; a discriminated union wherever a field picks a kind
(``train.method``, ``train.optimizer.name``, the key of ``data.source`` and
``model.base``). Defaults are chosen so that a ten-line spec is valid.
Field descriptions feed ``repro schema`` (editor completion) and docs/spec-reference.md.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    field_validator,
    model_validator,
)

SPEC_VERSION = 2
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]*$"


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)


def _by_key(*keys: str):
    """A discriminator that picks a union member by which key the mapping has."""

    def pick(value: Any) -> str | None:
        if isinstance(value, dict):
            for key in keys:
                if key in value:
                    return key
            return None
        for key in keys:
            if getattr(value, key, None) is not None:
                return key
        return None

    return pick


# --------------------------------------------------------------------------- data


BUILTINS = {
    "grammar": "text",
    "arithmetic": "instruction",
    "arithmetic-chat": "chat",
    "arithmetic-preference": "preference",
}
FORMAT_COLUMNS = {
    "text": ("text",),
    "instruction": ("instruction", "input", "output"),
    "chat": ("messages",),
    "preference": ("prompt", "chosen", "rejected"),
}
HASH_PATTERN = r"^blake3:[0-9a-f]{64}$"


class BuiltinSource(Section):
    """Data the project generates itself, deterministic for a seed and size."""

    builtin: Literal["grammar", "arithmetic", "arithmetic-chat", "arithmetic-preference"] = Field(
        description="grammar: pretraining text; arithmetic: instruction rows with exact answers; "
        "arithmetic-chat: the same as chat conversations; arithmetic-preference: "
        "prompt/chosen/rejected pairs (chosen is the right answer)"
    )
    size: int = Field(4000, gt=0, le=2_000_000, description="rows to generate")


class PathSource(Section):
    """Local files: one file, or a folder of them (read with the `datasets` library)."""

    path: str = Field(
        description="a file or folder, relative to the workspace root; a folder holding "
        "train/validation/test files keeps those splits"
    )
    type: Literal["auto", "jsonl", "json", "csv", "parquet", "text"] = Field(
        "auto", description="file type; auto = from the file extensions"
    )
    text_unit: Literal["line", "file"] = Field(
        "line", description="plain text only: one row per line, or one row per file"
    )


class HubSource(Section):
    """A Hugging Face hub data set (needs the network or a local HF cache)."""

    hub: str = Field(description="the data set id, e.g. org/name")
    revision: str | None = Field(None, description="commit sha to pin (strongly advised)")
    subset: str | None = Field(None, description="configuration name, if the data set has several")


Source = Annotated[
    Annotated[BuiltinSource, Tag("builtin")]
    | Annotated[PathSource, Tag("path")]
    | Annotated[HubSource, Tag("hub")],
    Discriminator(
        _by_key("builtin", "path", "hub"),
        custom_error_type="source_kind",
        custom_error_message="must have one of the keys 'builtin', 'path' or 'hub'",
    ),
]


class NearDedupe(Section):
    """MinHash/LSH near-duplicate removal (datasketch)."""

    threshold: float = Field(0.85, gt=0, le=1, description="estimated Jaccard similarity")
    num_perm: int = Field(128, ge=16, le=1024, description="MinHash permutations")
    ngram: int = Field(5, ge=1, le=64, description="character shingle size")


class Decontaminate(Section):
    """Drop training rows that share a word n-gram with the validation or test split."""

    ngram: int = Field(8, ge=3, le=64, description="n-gram length in words")


class Clean(Section):
    normalize: Literal["NFC", "NFKC"] | None = Field(
        "NFC", description="unicode normalisation form; null = off"
    )
    whitespace: bool = Field(
        True, description="strip ends and collapse runs of spaces and tabs (newlines kept)"
    )
    min_chars: int = Field(1, ge=0, description="drop rows with fewer characters than this")
    max_chars: int | None = Field(None, gt=0, description="drop rows with more characters")
    min_tokens: int | None = Field(None, ge=0, description="drop rows with fewer tokens")
    max_tokens: int | None = Field(None, gt=0, description="drop rows with more tokens")
    dedupe: Literal["exact", "near", "none"] = Field(
        "exact", description="exact: identical rows; near: also MinHash near-duplicates"
    )
    near: NearDedupe = Field(default_factory=NearDedupe)
    decontaminate: Decontaminate | None = Field(
        None, description="remove training rows overlapping validation/test; null = off"
    )


class Split(Section):
    validation: float = Field(0.1, ge=0, le=0.5, description="fraction held out for validation")
    test: float = Field(0.1, ge=0, le=0.5, description="fraction held out for test")
    group_by: str | None = Field(
        None, description="a column: rows sharing its value land in the same split"
    )
    stratify_by: str | None = Field(
        None, description="a column: each split keeps its value proportions"
    )

    @model_validator(mode="after")
    def _one_mode(self) -> Split:
        if self.group_by and self.stratify_by:
            raise ValueError("set group_by or stratify_by, not both")
        return self


class TokenizerSpec(Section):
    """Train a tokenizer from scratch on the training split."""

    kind: Literal["bpe"] = Field("bpe", description="byte-level BPE (tokenizers library)")
    vocab_size: int = Field(512, ge=64, le=262_144)
    min_frequency: int = Field(2, ge=1)


class Data(Section):
    source: Source = Field(
        description="where rows come from: {builtin: ...}, {path: ...} or {hub: ...}"
    )
    format: Literal["text", "instruction", "chat", "preference"] = Field(
        "text",
        description="text: plain completion; instruction: instruction/input/output; "
        "chat: messages with roles; preference: prompt/chosen/rejected",
    )
    columns: dict[str, str] = Field(
        default_factory=dict,
        description="rename source columns to the format's, e.g. {instruction: question}",
    )
    hash: str | None = Field(
        None,
        pattern=HASH_PATTERN,
        description="pinned content hash of the raw data (blake3:<hex>); `repro pin` writes it",
    )
    seed: int | None = Field(
        None, ge=0, description="seed for generation and splits; null = the spec's seed"
    )
    clean: Clean = Field(default_factory=Clean)
    split: Split = Field(default_factory=Split)
    tokenizer: TokenizerSpec | None = Field(
        None,
        description="train a new tokenizer (models built from a config); null = the base model's",
    )
    chat_template: str | None = Field(
        None,
        description="chat format: a Jinja chat template; null = the tokenizer's, or repro's default",
    )
    workers: int = Field(
        1, ge=1, le=256, description="processes for tokenization (does not change the result)"
    )

    @model_validator(mode="after")
    def _checks(self) -> Data:
        if self.split.validation + self.split.test >= 1:
            raise ValueError("split.validation + split.test must leave rows for training")
        allowed = FORMAT_COLUMNS[self.format]
        for target in self.columns:
            if target not in allowed:
                raise ValueError(
                    f"columns: '{target}' is not a column of format {self.format} "
                    f"(its columns: {', '.join(allowed)})"
                )
        return self


# --------------------------------------------------------------------------- model

LLAMA_MODULES = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
GPT2_MODULES = ("c_attn", "c_proj", "c_fc")  # attn.c_proj and mlp.c_proj share a name
ARCH_MODULES = {"llama": LLAMA_MODULES, "gpt2": GPT2_MODULES}


class ModelConfig(Section):
    """A decoder built from scratch (vocab size comes from the tokenizer).

    ``llama``: LlamaForCausalLM (RoPE, RMSNorm, SwiGLU, grouped-query attention);
    ``gpt2``: GPT2LMHeadModel (learned positions, LayerNorm, GELU MLP). The same field
    names size both (for gpt2: n_embd, n_inner, n_layer, n_head, n_positions).
    """

    arch: Literal["llama", "gpt2"] = Field("llama", description="llama or gpt2 layout")
    hidden_size: int = Field(64, gt=0, le=16384)
    intermediate_size: int = Field(256, gt=0, le=65536)
    num_hidden_layers: int = Field(2, gt=0, le=128)
    num_attention_heads: int = Field(4, gt=0, le=256)
    num_key_value_heads: int | None = Field(None, gt=0, le=256, description="null = attention heads")
    max_position_embeddings: int = Field(128, gt=0, le=131072)

    @model_validator(mode="after")
    def _heads(self) -> ModelConfig:
        if self.hidden_size % self.num_attention_heads:
            raise ValueError(
                f"hidden_size ({self.hidden_size}) must be divisible by "
                f"num_attention_heads ({self.num_attention_heads})"
            )
        kv = self.num_key_value_heads
        if kv is not None and self.arch == "gpt2":
            raise ValueError("num_key_value_heads is a llama field; gpt2 has one key/value "
                             "head per attention head")
        if kv is not None and self.num_attention_heads % kv:
            raise ValueError("num_attention_heads must be divisible by num_key_value_heads")
        return self


class ConfigBase(Section):
    config: ModelConfig = Field(description="build a new model from this config")


class SpecBase(Section):
    spec: str = Field(description="the trained model of another spec in this workspace")


class PathBase(Section):
    path: str = Field(description="a local Hugging Face model directory")


class HubBase(Section):
    hub: str = Field(description="a Hugging Face hub id (needs network; pin a revision)")
    revision: str | None = Field(None, description="commit sha to pin")


Base = Annotated[
    Annotated[ConfigBase, Tag("config")]
    | Annotated[SpecBase, Tag("spec")]
    | Annotated[PathBase, Tag("path")]
    | Annotated[HubBase, Tag("hub")],
    Discriminator(
        _by_key("config", "spec", "path", "hub"),
        custom_error_type="base_kind",
        custom_error_message="must have one of the keys 'config', 'spec', 'path' or 'hub'",
    ),
]


class Model(Section):
    base: Base = Field(description="where the starting weights come from")


# --------------------------------------------------------------------------- train


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


class Grpo(TrainCommon):
    """Online RL with GRPO (TRL's GRPOTrainer): sample completions of the training prompts,
    score them, and push up the ones that beat their group's mean. ``batch_size`` counts
    completions, so ``batch_size * grad_accum`` must be a multiple of ``num_generations``."""

    method: Literal["grpo"]
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
    scale_rewards: Literal["group", "batch", "none"] = Field(
        "group",
        description="divide advantages by the reward std of the group or batch; none keeps "
        "the reward's own scale (Dr. GRPO), so small reward-model differences stay small",
    )

    @model_validator(mode="after")
    def _groups(self) -> Grpo:
        if (self.batch_size * self.grad_accum) % self.num_generations:
            raise ValueError(
                f"batch_size * grad_accum ({self.batch_size * self.grad_accum}) must be a "
                f"multiple of num_generations ({self.num_generations})"
            )
        return self


TRL_METHODS = ("trl-sft", "dpo", "reward", "grpo")


def reward_sources(train: Any) -> list[tuple[tuple[Any, ...], Any]]:
    """A train section's reward sources with their field paths (grpo; else none)."""
    reward = getattr(train, "reward", None)
    if reward is None:
        return []
    if isinstance(reward, list):
        return [(("train", "reward", i), r) for i, r in enumerate(reward)]
    return [(("train", "reward"), reward)]

Train = Annotated[
    Pretrain | Sft | TrlSft | Dpo | RewardModel | Grpo, Field(discriminator="method")
]


# --------------------------------------------------------------------------- evaluate, tracking


class Evaluate(Section):
    metrics: list[Literal["perplexity", "exact_match", "preference_accuracy"]] = Field(
        default_factory=lambda: ["perplexity"],
        min_length=1,
        description="perplexity; exact_match: greedy answer equals the reference; "
        "preference_accuracy: chosen scored above rejected (log-probability, or reward for "
        "a reward model)",
    )
    split: Literal["validation", "test"] = "test"
    max_examples: int | None = Field(200, gt=0, description="null = the whole split")
    max_new_tokens: int = Field(8, gt=0, le=4096)
    batch_size: int = Field(32, gt=0, le=65536)
    compare_base: bool = Field(True, description="also score the base model, for a before/after")


class Tracking(Section):
    mlflow: bool = True
    tracking_uri: str | None = Field(
        None,
        description="null = $MLFLOW_TRACKING_URI or sqlite:///mlflow.db in the workspace; "
        "${NAME} is replaced by environment variable NAME at run time (for credentials)",
    )
    experiment: str = Field("repro", min_length=1)

    @field_validator("tracking_uri")
    @classmethod
    def _no_password(cls, value: str | None) -> str | None:
        from repro.contract.secrets import uri_has_password

        if value and uri_has_password(value) and not _only_env_password(value):
            raise ValueError(
                "holds a password, which would be written to params.yaml, dvc.lock and git; "
                "write it as ${SOME_ENV_VAR} (read at run time) or set MLFLOW_TRACKING_PASSWORD"
            )
        return value


# --------------------------------------------------------------------------- determinism


class Determinism(Section):
    """Seeds always pin Python, NumPy, torch, data order, splits and dropout; this goes further."""

    full: bool = Field(
        False,
        description="torch deterministic algorithms only (a non-deterministic op is an error), "
        "cuDNN deterministic, no cuDNN benchmark, a fixed cuBLAS workspace; slower on GPU",
    )
    threads: int | None = Field(
        1,
        ge=1,
        le=1024,
        description="torch CPU threads in every stage: float results depend on the thread "
        "count, so it is pinned and results do not change with the machine's cores; "
        "null = torch's default (one per core)",
    )


def _only_env_password(uri: str) -> bool:
    """True when the password part of ``uri`` is an environment reference such as ``${PW}``."""
    import re

    m = re.search(r"://[^/\s:@]*:([^@/\s]*)@", uri)
    return bool(m and re.fullmatch(r"\$\{[A-Za-z_][A-Za-z0-9_]*\}", m.group(1)))


# --------------------------------------------------------------------------- the spec


class Spec(Section):
    """A versioned experiment spec."""

    spec_version: Literal[2] = Field(
        SPEC_VERSION, description="schema version; older files are upgraded on load (`repro upgrade`)"
    )
    name: str | None = Field(
        None, pattern=NAME_PATTERN, description="defaults to the file name; must match it"
    )
    description: str = ""
    seed: int = Field(1234, ge=0, le=2**32 - 1)
    determinism: Determinism = Field(default_factory=Determinism)
    data: Data
    model: Model
    train: Train
    evaluate: Evaluate = Field(default_factory=Evaluate)
    tracking: Tracking = Field(default_factory=Tracking)

    def spec_refs(self) -> list[tuple[tuple[str, ...], str]]:
        """Other specs whose trained model this one needs, as (field path, spec name):
        the base model, and a GRPO stage's reward model."""
        refs: list[tuple[tuple[str, ...], str]] = []
        if isinstance(self.model.base, SpecBase):
            refs.append((("model", "base", "spec"), self.model.base.spec))
        for path, reward in reward_sources(self.train):
            if isinstance(reward, SpecReward):
                refs.append(((*path, "spec"), reward.spec))
        return refs


def json_schema() -> dict[str, Any]:
    schema = Spec.model_json_schema()
    schema["properties"]["extends"] = {
        "description": "a spec file (or list of files) to deep-merge under this one",
        "anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}],
    }
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = f"repro spec v{SPEC_VERSION}"
    return schema
