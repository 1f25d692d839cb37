"""Task adapters: what a task adds around the exported graphs (translation: split, tokenizer, decoding)."""
