"""WordWeights: scale each word's embedding by a weight per vocabulary entry (e.g. idf) in the
word-embedding models; the pooling then divides by the sum of the weights, not the number of words."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from .._errors import InputError
from .._st_loggers import ST_WORD_WEIGHTS
from .config_module import ConfigModule, build_from_config
from .loading import st_loading


class WordWeights(ConfigModule):
    """Per-word weights from ``word_weights`` (looked up as written, then lowercased), else
    ``unknown_word_weight``.

    The weights are a trainable ``nn.Embedding`` as in sentence-transformers, which also rebuilds them
    from the config on load: trained weights are saved but not read back.
    """

    config_keys = ["vocab", "word_weights", "unknown_word_weight"]

    def __init__(
        self, vocab: Sequence[str], word_weights: Mapping[str, float], unknown_word_weight: float = 1
    ) -> None:
        super().__init__()
        if not isinstance(vocab, Sequence) or isinstance(vocab, str) or not isinstance(word_weights, Mapping):
            raise InputError("vocab must be a list of words and word_weights a mapping of word -> weight")
        self.vocab = list(vocab)
        self.word_weights = dict(word_weights)
        self.unknown_word_weight = unknown_word_weight
        weights = word_weights_of(self.vocab, self.word_weights, unknown_word_weight, ST_WORD_WEIGHTS, "of")
        self.emb_layer = nn.Embedding(len(self.vocab), 1)
        with torch.no_grad():
            self.emb_layer.weight.copy_(torch.tensor(weights, dtype=torch.float32).unsqueeze(1))

    def forward(self, features: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        mask = features["attention_mask"].float()  # (B, T)
        weights = self.emb_layer(features["input_ids"]).squeeze(-1) * mask  # (B, T)
        features["token_embeddings"] = features["token_embeddings"] * weights.unsqueeze(-1)
        features["token_weights_sum"] = weights.sum(dim=1)  # Pooling's mean divides by it
        return features

    @classmethod
    @st_loading
    def load(cls, folder: str | os.PathLike, **options: Any) -> WordWeights:
        return build_from_config(cls, folder)


def word_weights_of(
    vocab: Sequence[str], word_weights: Mapping[str, float], unknown: float, logger: str, of: str
) -> list[float]:
    """Each vocabulary word's weight (looked up as written, then lowercased, else ``unknown``), and the
    count of words without one logged on ``logger`` as sentence-transformers' BoW ("out of") and
    WordWeights ("of") log it."""
    weights = [word_weights.get(word, word_weights.get(word.lower())) for word in vocab]
    missing = sum(weight is None for weight in weights)
    logging.getLogger(logger).info(
        "%d %s %d words without a weighting value. Set weight to %s", missing, of, len(vocab), unknown
    )
    return [unknown if weight is None else weight for weight in weights]
