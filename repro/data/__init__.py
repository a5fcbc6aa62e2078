"""Data as the control plane sees it: pins, raw-data hashes and data cards."""
