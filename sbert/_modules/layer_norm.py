"""LayerNorm: layer normalization of the sentence embedding, as sentence-transformers' module."""

from __future__ import annotations

import torch
from torch import nn

from .._checks import check_positive_int
from .config_module import WEIGHTS_FILE, ConfigModule


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

    def usage_code(self, index: int) -> dict[str, str]:
        """This module's part of the model card's plain-transformers example (see sbert._format.card)."""
        weights = f"layer_norm_{index}"
        load = f"{weights} = load_file(os.path.join(model_dir, '{index}_LayerNorm', '{WEIGHTS_FILE}'))"
        norm = f"{weights}['norm.weight'], {weights}['norm.bias'], eps={self.norm.eps}"
        step = f"sentence_embeddings = F.layer_norm(sentence_embeddings, ({self.dimension},), {norm})"
        return {"load": load, "step": step}
