"""Pooling: token embeddings (B, T, D) -> one sentence embedding (B, D * number of modes)."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .._errors import InputError
from .._format.layout import pooling_config_from_file, pooling_config_to_file
from .._numeric import POOLING_MODES

CONFIG_FILE = "config.json"


def parse_pooling_mode(mode: str | Sequence[str]) -> tuple[str, ...]:
    """One mode or several (concatenated in the given order); unknown names raise InputError."""
    modes = (mode,) if isinstance(mode, str) else tuple(mode)
    if not modes:
        raise InputError(f"pooling mode must name at least one of {POOLING_MODES}")
    for m in modes:
        if m not in POOLING_MODES:
            raise InputError(f"Unknown pooling mode {m!r}; valid modes are {POOLING_MODES}.")
    return modes


class Pooling(nn.Module):
    """Pools token embeddings under the attention mask.

    Args:
        word_embedding_dimension: hidden size D of the token embeddings.
        mode: ``"mean"`` (default), ``"cls"``, ``"max"``, ``"mean_sqrt_len_tokens"``, ``"weightedmean"``,
            ``"lasttoken"``, or a sequence of them whose results are concatenated.
        include_prompt: kept for format compatibility; prompts are not yet excluded from pooling.
    """

    def __init__(
        self,
        word_embedding_dimension: int,
        mode: str | Sequence[str] = "mean",
        *,
        include_prompt: bool = True,
    ) -> None:
        super().__init__()
        self.word_embedding_dimension = int(word_embedding_dimension)
        self.modes = parse_pooling_mode(mode)
        self.include_prompt = include_prompt

    @property
    def mode(self) -> str | tuple[str, ...]:
        return self.modes[0] if len(self.modes) == 1 else self.modes

    def get_sentence_embedding_dimension(self) -> int:
        return self.word_embedding_dimension * len(self.modes)

    def forward(self, features: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        tokens = features["token_embeddings"]  # (B, T, D)
        mask = features["attention_mask"]  # (B, T)
        features["sentence_embedding"] = torch.cat([_POOLERS[m](tokens, mask) for m in self.modes], dim=-1)
        return features

    def get_config_dict(self) -> dict[str, Any]:
        return pooling_config_to_file(self.word_embedding_dimension, self.modes, self.include_prompt)

    def __repr__(self) -> str:
        return f"Pooling({self.get_config_dict()})"

    def save(self, folder: str | os.PathLike) -> None:
        (Path(folder) / CONFIG_FILE).write_text(json.dumps(self.get_config_dict(), indent=2))

    @classmethod
    def load(cls, folder: str | os.PathLike) -> Pooling:
        dim, modes, include_prompt = pooling_config_from_file(Path(folder) / CONFIG_FILE)
        return cls(dim, modes, include_prompt=include_prompt)


# Torch twins of the numpy functions in sbert._numeric (kept differentiable for training).


def _cls(tokens: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    first = mask.to(torch.int32).argmax(dim=1)
    return tokens[torch.arange(tokens.shape[0], device=tokens.device), first]


def _max(tokens: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    return tokens.masked_fill(mask.unsqueeze(-1) == 0, float("-inf")).max(dim=1).values


def _masked_sum_and_count(tokens: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    m = mask.unsqueeze(-1).to(tokens.dtype)
    return (tokens * m).sum(dim=1), m.sum(dim=1).clamp(min=1e-9)


def _mean(tokens: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    total, count = _masked_sum_and_count(tokens, mask)
    return total / count


def _mean_sqrt_len(tokens: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    total, count = _masked_sum_and_count(tokens, mask)
    return total / count.sqrt()


def _weighted_mean(tokens: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    positions = torch.arange(1, tokens.shape[1] + 1, device=tokens.device, dtype=tokens.dtype).unsqueeze(0)
    first = mask.to(torch.int32).argmax(dim=1, keepdim=True)  # left padding must not shift the weights
    weights = ((positions - first) * mask).unsqueeze(-1).to(tokens.dtype)  # (B, T, 1)
    return (tokens * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1e-9)


def _last_token(tokens: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    seq_len = mask.shape[1]
    last = seq_len - 1 - mask.to(torch.int32).flip(1).argmax(dim=1)
    out = tokens[torch.arange(tokens.shape[0], device=tokens.device), last]
    return out * mask.any(dim=1, keepdim=True).to(tokens.dtype)


_POOLERS = {
    "cls": _cls,
    "max": _max,
    "mean": _mean,
    "mean_sqrt_len_tokens": _mean_sqrt_len,
    "weightedmean": _weighted_mean,
    "lasttoken": _last_token,
}
