"""Normalize: scale each sentence embedding (or the feature it is told to) to unit L2 length."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .._format.layout import normalize_features
from .._format.usage_code import normalize_usage
from .base import Module
from .loading import st_loading_or_default

CONFIG_FILE = "config.json"


def _unit_length(embedding: torch.Tensor) -> torch.Tensor:
    """L2-normalize the last axis. Half-precision rows are normalized in float32 and cast back: in float16
    the squared norm of large values overflows (60000 becomes 0), the 1e-12 floor underflows (a zero row
    becomes NaN) and small rows lose their length; the newest sentence-transformers does the same."""
    if embedding.dtype in (torch.float16, torch.bfloat16):
        return nn.functional.normalize(embedding.float(), p=2, dim=-1).to(embedding.dtype)
    return nn.functional.normalize(embedding, p=2, dim=-1)


class Normalize(Module):
    """As sentence-transformers' Normalize: ``module_input_name`` is the feature it normalizes (the sentence
    embedding; ``"token_embeddings"`` for each token), ``module_output_name`` where it writes (default: the
    same)."""

    config_keys = ["module_input_name", "module_output_name"]

    def __init__(
        self, module_input_name: str = "sentence_embedding", module_output_name: str | None = None
    ) -> None:
        super().__init__()
        self.module_input_name = str(module_input_name)
        self.module_output_name = self.module_input_name if module_output_name is None else module_output_name

    def forward(self, features: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        embedding = features.get(self.module_input_name)
        if embedding is not None:  # features without one pass through, as in sentence-transformers
            features[self.module_output_name] = _unit_length(embedding)
        return features

    def get_config_dict(self) -> dict[str, Any]:
        return {"module_input_name": self.module_input_name, "module_output_name": self.module_output_name}

    def __repr__(self) -> str:
        return f"Normalize({self.get_config_dict()})"  # as sentence-transformers 6, the default's too

    def usage_code(self, index: int) -> dict[str, str] | None:
        """This module's part of the model card's plain-transformers example (see sbert._format.card); None
        for a Normalize of another feature."""
        return normalize_usage((self.module_input_name, self.module_output_name))

    def save(self, folder: str | os.PathLike, *args: Any, **kwargs: Any) -> None:
        """Its features in ``config.json``, the default's too, as sentence-transformers 6 writes them (older
        releases ignore the file; a folder without one still loads as the default)."""
        (Path(folder) / CONFIG_FILE).write_text(json.dumps(self.get_config_dict(), indent=4))

    @classmethod
    @st_loading_or_default
    def load(cls, folder: str | os.PathLike, **options: Any) -> Normalize:
        return cls(*normalize_features(Path(folder)))
