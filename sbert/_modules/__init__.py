"""Torch modules of a sentence-embedding pipeline: Transformer -> Pooling -> Dense -> Normalize.

Each module maps a dict of tensors to a dict of tensors, saves its own config in its own folder and loads
from a local folder only (names are resolved to folders before any module sees them).
"""
