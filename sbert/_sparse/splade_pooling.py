"""SpladePooling: a text's masked-LM logits ``(T, V)`` become one sparse vocabulary vector ``(V,)``.

Each logit becomes ``log(1 + relu(x))`` (applied twice for ``log1p_relu``, OpenSearch's variant); the
pooling strategy takes the max (SPLADE v2 and later) or the sum (the first SPLADE) over the text's tokens.
Padding positions score 0, so they never win a max and add nothing to a sum.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch

from .._errors import InputError
from .._modules.base import Module
from .._modules.loading import st_loading
from .folder import ACTIVATIONS, POOLING_STRATEGIES, SpladeConfig, read_pooling_config


class SpladePooling(Module):
    """sentence-transformers' ``SpladePooling``: same settings, same numbers.

    Args:
        pooling_strategy: ``"max"`` or ``"sum"`` over the tokens.
        activation_function: ``"relu"`` (``log1p(relu(x))``) or ``"log1p_relu"`` (``log1p`` once more).
        embedding_dimension (``word_embedding_dimension``): the vocabulary size, set on the first batch if
            not given.
        chunk_size: pool this many positions at a time (less memory for long texts); ``None``: all at once.
    """

    SPLADE_POOLING_MODES = POOLING_STRATEGIES  # sentence-transformers' names and types of the choices
    SPLADE_ACTIVATION = list(ACTIVATIONS)
    config_keys = ["pooling_strategy", "activation_function", "embedding_dimension"]
    config_key_renames = {"word_embedding_dimension": "embedding_dimension"}  # sentence-transformers 5's name

    def __init__(
        self,
        pooling_strategy: str = "max",
        activation_function: str = "relu",
        embedding_dimension: int | None = None,
        chunk_size: int | None = None,
        *,
        word_embedding_dimension: int | None = None,  # sentence-transformers 5's name
    ) -> None:
        super().__init__()
        config = SpladeConfig(
            pooling_strategy, activation_function, embedding_dimension or word_embedding_dimension
        )
        problem = config.problem()
        if problem:
            raise InputError(f"SpladePooling: {problem}")
        self.pooling_strategy = config.pooling_strategy
        self.activation_function = config.activation_function
        self.embedding_dimension = config.embedding_dimension
        self.chunk_size = chunk_size

    @property
    def word_embedding_dimension(self) -> int | None:
        return self.embedding_dimension

    def forward(self, features: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        logits, mask = features["token_embeddings"], features["attention_mask"]  # (B, T, V), (B, T)
        length = logits.shape[1]
        step = self.chunk_size if self.chunk_size and self.chunk_size > 0 else length
        pooled = None
        for start in range(0, length, step):
            scores = splade_scores(
                logits[:, start : start + step], mask[:, start : start + step], self.activation_function
            )
            if self.pooling_strategy == "max":
                # torch.max, not amax: on ties (a token whose logit is the same at every position, such as
                # [PAD] with its zero embedding row) the gradient goes to one position, as in
                # sentence-transformers (amax would share it out, and training would drift from there)
                part = scores.max(dim=1).values
                pooled = part if pooled is None else torch.maximum(pooled, part)
            else:
                part = scores.sum(dim=1)
                pooled = part if pooled is None else pooled + part
        if self.embedding_dimension is None:
            self.embedding_dimension = int(logits.shape[-1])
        features["sentence_embedding"] = pooled  # (B, V)
        return features

    def get_embedding_dimension(self) -> int | None:
        return self.embedding_dimension

    def _config(self) -> SpladeConfig:
        return SpladeConfig(self.pooling_strategy, self.activation_function, self.embedding_dimension)

    def get_config_dict(self) -> dict[str, Any]:
        return self._config().to_dict()

    def __repr__(self) -> str:
        return f"SpladePooling({self.get_config_dict()})"

    def save(self, folder: str | os.PathLike, *args: Any, **kwargs: Any) -> None:
        Path(folder, "config.json").write_text(json.dumps(self._config().to_file(), indent=2))

    @classmethod
    @st_loading
    def load(cls, folder: str | os.PathLike, **options: Any) -> SpladePooling:
        """From the folder's ``config.json`` (either release's keys); loading options are not used."""
        config = read_pooling_config(Path(folder, "config.json"))
        return cls(config.pooling_strategy, config.activation_function, config.embedding_dimension)


def splade_scores(logits: torch.Tensor, attention_mask: torch.Tensor, activation: str) -> torch.Tensor:
    """``log(1 + relu(x))`` of each real position's logits, 0 at padding; ``log1p`` twice for
    ``log1p_relu``. ``(B, T, V)`` in and out."""
    scores = (logits * attention_mask.unsqueeze(-1).to(logits.dtype)).relu_()  # a new tensor: safe in place
    # In place where no gradient needs the input of log1p (inference): the logits are the largest tensor.
    in_place = not scores.requires_grad
    scores = scores.log1p_() if in_place else scores.log1p()
    if activation == "log1p_relu":
        scores = scores.log1p_() if in_place else scores.log1p()
    return scores
