"""The spec: its schema (one module per section), loading, upgrades, validation and checks."""
