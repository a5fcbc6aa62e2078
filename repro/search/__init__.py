"""Sweeps: the search space, the study settings and the sweep stage (Optuna runs in runners.search)."""
