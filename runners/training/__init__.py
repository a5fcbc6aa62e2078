"""The training loop and what it needs: optimizers, precision, checkpoints, processes, seeds."""
