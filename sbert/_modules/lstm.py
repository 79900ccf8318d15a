"""LSTM: a (bidirectional) LSTM over the token embeddings of each text's real tokens."""

from __future__ import annotations

import torch
from torch import nn

from .._checks import check_positive_int
from .config_module import ConfigModule, renamed_keywords

CONFIG_FILE = "lstm_config.json"


class LSTM(ConfigModule):
    """Token embeddings (B, T, embedding_dimension) -> (B, T, hidden_dim, doubled when bidirectional).

    Each text runs over its own tokens only (a packed sequence), so padding never enters the state.
    """

    config_file_name = CONFIG_FILE
    config_key_renames = {"word_embedding_dimension": "embedding_dimension"}  # sentence-transformers 5's name
    config_keys = ["embedding_dimension", "hidden_dim", "num_layers", "dropout", "bidirectional"]
    input_key = "embedding_dimension"

    @renamed_keywords(word_embedding_dimension="embedding_dimension")
    def __init__(
        self,
        embedding_dimension: int,
        hidden_dim: int,
        num_layers: int = 1,
        dropout: float = 0,
        bidirectional: bool = True,
    ) -> None:
        super().__init__()
        for name, value in (("embedding_dimension", embedding_dimension), ("hidden_dim", hidden_dim)):
            check_positive_int(name, value)
        check_positive_int("num_layers", num_layers)
        self.embedding_dimension = embedding_dimension
        self.hidden_dim = hidden_dim
        self.num_layers = num_layers
        self.dropout = dropout
        self.bidirectional = bool(bidirectional)
        self.encoder = nn.LSTM(
            embedding_dimension,
            hidden_dim,
            num_layers=num_layers,
            dropout=dropout,
            bidirectional=self.bidirectional,
            batch_first=True,
        )

    def forward(self, features: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        tokens = features["token_embeddings"]  # (B, T, D)
        # Right padding: a text's length is its number of real tokens (an empty text runs on one), the
        # features' sentence_lengths as sentence-transformers reads them, else the mask's (a Transformer's)
        lengths = features.get("sentence_lengths")
        lengths = features["attention_mask"].sum(dim=1) if lengths is None else lengths
        packed = nn.utils.rnn.pack_padded_sequence(
            tokens, lengths.clamp(min=1).cpu(), batch_first=True, enforce_sorted=False
        )
        out, _ = self.encoder(packed)
        # back to the input's T, so a mask wider than the longest text still lines up with the output
        features["token_embeddings"] = nn.utils.rnn.pad_packed_sequence(
            out, batch_first=True, total_length=tokens.shape[1]
        )[0]
        return features

    def get_embedding_dimension(self) -> int:
        return self.hidden_dim * (2 if self.bidirectional else 1)
