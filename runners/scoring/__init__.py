"""Scoring a model: perplexity, exact match, preference accuracy."""
