"""sentence-transformers 6.3's ``sentence_transformers.base.merging``: ``merge_models(cls, models, method,
...)``, the implementation of every model class's ``merge`` classmethod (:mod:`sbert._model_merge`; needs
``pip install 'sbert[merge]'``). Importing it does not import torch; the function loads on first access."""

from __future__ import annotations

from .._lazy import lazy_attributes

__all__ = ["merge_models"]  # noqa: F822 (made on access)

__getattr__ = lazy_attributes(__name__, globals(), {"merge_models": ("sbert._model_merge", "merge_models")})
