"""repro: versioned experiment specs in, reproducible results out.

The control plane. Nothing here imports torch, transformers, datasets, peft,
trl or mlflow at module level.
"""

__version__ = "0.1.0"
