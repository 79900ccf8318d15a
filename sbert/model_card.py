"""sentence-transformers' ``sentence_transformers.model_card`` path:

from sbert.model_card import SentenceTransformerModelCardData, SentenceTransformerModelCardCallback
"""

from __future__ import annotations

from typing import Any

from ._format.card_data import SentenceTransformerModelCardData

__all__ = ["SentenceTransformerModelCardCallback", "SentenceTransformerModelCardData"]  # noqa: F822 (made on access)


def __getattr__(name: str) -> Any:
    if name != "SentenceTransformerModelCardCallback":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from transformers import TrainerCallback  # only when asked for: importing this module stays light

    class SentenceTransformerModelCardCallback(TrainerCallback):
        """sentence-transformers' callback that fills the model card during training. sbert's trainers
        fill the card themselves (datasets, losses, hyperparameters, evaluation), so this class is here for
        code that imports it or looks for it among a trainer's callbacks (setfit does both); given to a
        trainer, it changes nothing."""

        def __init__(self, default_args_dict: dict[str, Any] | None = None) -> None:
            super().__init__()
            self.default_args_dict = default_args_dict or {}

    SentenceTransformerModelCardCallback.__module__ = __name__
    globals()[name] = SentenceTransformerModelCardCallback  # one class, whoever asks
    return SentenceTransformerModelCardCallback
