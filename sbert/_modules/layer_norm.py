"""LayerNorm: layer normalization of the sentence embedding, as sentence-transformers' module."""

from __future__ import annotations

import torch
from torch import nn

from .._checks import check_positive_int
from .config_module import ConfigModule


class LayerNorm(ConfigModule):
    """``nn.LayerNorm`` over the sentence embedding (B, dimension); its scale and shift are trained."""

    config_keys = ["dimension"]
    input_key = "dimension"

    def __init__(self, dimension: int) -> None:
        super().__init__()
        check_positive_int("dimension", dimension)
        self.dimension = dimension
        self.norm = nn.LayerNorm(dimension)

    def forward(self, features: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        features["sentence_embedding"] = self.norm(features["sentence_embedding"])
        return features

    def get_embedding_dimension(self) -> int:
        return self.dimension
