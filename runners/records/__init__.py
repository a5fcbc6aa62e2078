"""Lineage and run records (writing) and MLflow tracking of a stage."""
