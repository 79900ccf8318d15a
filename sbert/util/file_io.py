"""sentence-transformers' ``util.file_io`` module path: whether a folder or hub name is a model."""

from . import disabled_tqdm, is_sentence_transformer_model

__all__ = ["disabled_tqdm", "is_sentence_transformer_model"]
