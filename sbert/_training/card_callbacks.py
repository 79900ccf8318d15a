"""sentence-transformers' model-card callbacks, by their names there: code imports them, subclasses them or
looks for them among a trainer's callbacks (setfit removes its ``SentenceTransformerModelCardCallback``).
sbert's trainers fill the card themselves (datasets, losses, hyperparameters, evaluation), so given to a
trainer these change nothing. Imports transformers: loaded on first access of one of the names.
"""

from __future__ import annotations

from typing import Any

from transformers import TrainerCallback


class BaseModelCardCallback(TrainerCallback):
    """The base of the model-card callbacks; keeps the training arguments' defaults it was given."""

    def __init__(self, default_args_dict: dict[str, Any] | None = None) -> None:
        super().__init__()
        self.default_args_dict = default_args_dict or {}


class SentenceTransformerModelCardCallback(BaseModelCardCallback):
    """The bi-encoder trainer's model-card callback."""


class ModelCardCallback(SentenceTransformerModelCardCallback):
    """sentence-transformers' older name of :class:`SentenceTransformerModelCardCallback`."""


class CrossEncoderModelCardCallback(BaseModelCardCallback):
    """The cross-encoder trainer's model-card callback."""


class SparseEncoderModelCardCallback(BaseModelCardCallback):
    """The sparse encoder trainer's model-card callback."""


class MultiVectorEncoderModelCardCallback(BaseModelCardCallback):
    """The multi-vector encoder trainer's model-card callback."""
