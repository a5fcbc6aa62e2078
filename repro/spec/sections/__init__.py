"""Spec sections, one pydantic module each, so a stage depends only on the sections it reads."""
