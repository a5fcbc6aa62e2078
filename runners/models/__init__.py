"""Loading, building and saving models, and adapters (LoRA, DoRA, QLoRA)."""
