"""Data sources for the prepare stage: built-in synthetic generators and local files."""
