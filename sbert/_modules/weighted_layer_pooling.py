"""WeightedLayerPooling: token embeddings as a learned weighted mean of the encoder's layer outputs."""

from __future__ import annotations

import torch
from torch import nn

from .._checks import check_positive_int
from .._errors import InputError
from .config_module import ConfigModule, renamed_keywords


class WeightedLayerPooling(ConfigModule):
    """Mixes hidden states ``layer_start .. num_hidden_layers`` (0 is the embedding layer's output) with
    trained weights, one per layer. Needs ``all_layer_embeddings``, which the Transformer emits when its
    encoder's config has ``output_hidden_states: true``; without them the features pass unchanged."""

    config_key_renames = {"word_embedding_dimension": "embedding_dimension"}  # sentence-transformers 5's name
    config_keys = ["embedding_dimension", "layer_start", "num_hidden_layers"]
    input_key = "embedding_dimension"

    @renamed_keywords(word_embedding_dimension="embedding_dimension")
    def __init__(
        self,
        embedding_dimension: int,
        num_hidden_layers: int = 12,
        layer_start: int = 4,
        layer_weights: torch.Tensor | None = None,
    ) -> None:
        super().__init__()
        check_positive_int("embedding_dimension", embedding_dimension)
        if not isinstance(layer_start, int) or not 0 <= layer_start <= num_hidden_layers:
            raise InputError(f"layer_start must be in [0, num_hidden_layers], got {layer_start!r}")
        self.embedding_dimension = embedding_dimension
        self.num_hidden_layers = num_hidden_layers
        self.layer_start = layer_start
        if layer_weights is None:
            layer_weights = torch.ones(num_hidden_layers + 1 - layer_start)
        self.layer_weights = nn.Parameter(torch.as_tensor(layer_weights, dtype=torch.float32))

    def forward(self, features: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        layers = features.get("all_layer_embeddings")
        if layers is None:
            return features
        stacked = torch.stack(list(layers))[self.layer_start :]  # (L, B, T, D)
        weights = self.layer_weights.view(-1, 1, 1, 1)
        features["token_embeddings"] = (weights * stacked).sum(dim=0) / self.layer_weights.sum()
        return features

    def get_embedding_dimension(self) -> int:
        return self.embedding_dimension
