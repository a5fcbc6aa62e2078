"""The ``model`` section: the base model (a config, another spec, a local folder or a hub id)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    Discriminator,
    Field,
    Tag,
    model_validator,
)

from repro.spec.sections.common import Section, _by_key

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


class Teacher(Section):
    """The model a distillation student learns from: another spec's trained model."""

    spec: str = Field(description="a spec in this workspace that trains a full language model")


class Model(Section):
    base: Base = Field(description="where the starting weights come from")
    teacher: Teacher | None = Field(
        None, description="train.method distill: {spec: NAME}, the teacher's train stage "
        "runs first; null = no teacher"
    )
