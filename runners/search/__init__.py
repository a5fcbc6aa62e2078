"""Sweeps in the data plane: an Optuna study whose trials call the stage functions in-process."""
