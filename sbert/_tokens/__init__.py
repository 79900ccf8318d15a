"""Texts -> token batches: the tokenizer wrapper (tokenizer) and length-sorted, token-budget batching
(batching)."""
