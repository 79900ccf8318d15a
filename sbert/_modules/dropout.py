"""Dropout: random zeroing of sentence-embedding features while training; the identity at inference."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .._errors import InputError
from .config_module import ConfigModule, build_from_config
from .loading import st_loading

CONFIG_FILE = "config.json"


class Dropout(ConfigModule):
    """``nn.Dropout(dropout)`` on the sentence embedding; it has no weights."""

    config_keys = ["dropout"]

    def __init__(self, dropout: float = 0.2) -> None:
        super().__init__()
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0 <= dropout < 1:
            raise InputError(f"dropout must be a rate in [0, 1), got {dropout!r}")
        self.dropout = dropout
        self.dropout_layer = nn.Dropout(dropout)

    def forward(self, features: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        features["sentence_embedding"] = self.dropout_layer(features["sentence_embedding"])
        return features

    def save(self, folder: str | os.PathLike, *args: Any, **kwargs: Any) -> None:
        (Path(folder) / CONFIG_FILE).write_text(
            json.dumps(self.get_config_dict(), indent=4), encoding="utf-8"
        )

    @classmethod
    @st_loading
    def load(cls, folder: str | os.PathLike, **options: Any) -> Dropout:
        # Without a config file sentence-transformers takes the default rate.
        return build_from_config(cls, folder) if (Path(folder) / CONFIG_FILE).is_file() else cls()
