"""Data: built-in generators, sources, cleaning, splits, tokenizers, formats, tokens and batches."""
