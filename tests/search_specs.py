"""A tiny sweep spec for the search tests: LoRA on arithmetic from a config-built model."""

from __future__ import annotations

SWEEP = """\
spec_version: 2
seed: 7
data:
  source: {builtin: arithmetic, size: 400}
  format: instruction
  tokenizer: {kind: bpe, vocab_size: 128}
model:
  base:
    config: {hidden_size: 32, intermediate_size: 64, num_hidden_layers: 1, num_attention_heads: 2}
train:
  method: sft
  peft: {kind: lora, r: 4}
  optimizer: {name: adamw, lr: 3.0e-3}
  max_steps: 20
  batch_size: 8
  max_length: 32
  log_every: 5
evaluate:
  metrics: [perplexity, exact_match]
  max_examples: 20
  compare_base: false
tracking:
  mlflow: false
search:
  objective: {metric: perplexity, direction: minimize}
  trials: 4
  sampler: {name: tpe, startup_trials: 2}
  pruner: {name: median, every: 5, startup_trials: 1}
  space:
    train.optimizer.lr: {low: 1.0e-4, high: 1.0e-1, log: true}
    train.peft.r: {choices: [2, 4, 8]}
    train.scheduler.warmup_steps: {low: 0, high: 10}
"""
