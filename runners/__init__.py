"""The data plane: one ``python -m runners.<stage>`` entry point per stage, over plain functions."""
