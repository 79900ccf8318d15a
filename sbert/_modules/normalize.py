"""Normalize: scale each sentence embedding to unit L2 length."""

from __future__ import annotations

import os
from typing import Any

import torch
from torch import nn


class Normalize(nn.Module):
    def forward(self, features: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        embedding = features.get("sentence_embedding")
        if embedding is not None:  # features without one pass through, as in sentence-transformers
            features["sentence_embedding"] = nn.functional.normalize(embedding, p=2, dim=1)
        return features

    def __repr__(self) -> str:
        return "Normalize()"

    def usage_code(self, index: int) -> dict[str, str]:
        """This module's part of the model card's plain-transformers example (see sbert._format.card)."""
        return {"step": "sentence_embeddings = F.normalize(sentence_embeddings, p=2, dim=1)"}

    def save(self, folder: str | os.PathLike) -> None:
        """Normalize has no configuration; its folder stays empty, as in sentence-transformers."""

    @classmethod
    def load(cls, folder: str | os.PathLike, **options: Any) -> Normalize:
        return cls()
