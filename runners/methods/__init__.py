"""Training methods: one module per ``train.method`` (see repro/contract/methods.py), each with a ``fit(stage)``."""
