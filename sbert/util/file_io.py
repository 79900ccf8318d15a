"""sentence-transformers' ``util.file_io`` module path: whether a folder or hub name is a model."""

from . import disabled_tqdm, http_get, is_sentence_transformer_model, load_dir_path, load_file_path

__all__ = ["disabled_tqdm", "http_get", "is_sentence_transformer_model", "load_dir_path", "load_file_path"]
