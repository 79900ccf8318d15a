"""Pooling: token embeddings (B, T, D) -> one sentence embedding (B, D * number of modes).

The pooling functions below are the one implementation of each mode. They use nothing but ``torch`` so the
model card prints their source as the plain-``transformers`` usage example, and the card's code and sbert's
numbers cannot drift apart.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from .._errors import InputError, warn_at_caller
from .._format.layout import (
    CLASSIC_POOLING_KEYS,
    POOLING_MODES,
    classic_flags_as_mode,
    pooling_config_from_file,
    pooling_config_to_file,
    pooling_modes_from_flags,
    pooling_settings,
)
from .._format.usage_code import POOLING_FUNCTION_NAMES, pooling_usage
from .base import Module
from .config_module import renamed_keywords
from .loading import st_loading

CONFIG_FILE = "config.json"


def cls_pooling(token_embeddings, attention_mask):
    first = attention_mask.to(torch.int32).argmax(dim=1)  # first real token (0 unless left-padded)
    rows = torch.arange(token_embeddings.shape[0], device=token_embeddings.device)
    return token_embeddings[rows, first]


def max_pooling(token_embeddings, attention_mask):
    masked = token_embeddings.masked_fill(attention_mask.unsqueeze(-1) == 0, float("-inf"))
    return masked.max(dim=1).values


def mean_pooling(token_embeddings, attention_mask):
    wide = torch.promote_types(token_embeddings.dtype, torch.float32)  # half precision sums in float32
    mask = attention_mask.unsqueeze(-1).to(token_embeddings.dtype)
    total = (token_embeddings * mask).sum(dim=1, dtype=wide)
    return (total / mask.sum(dim=1, dtype=wide).clamp(min=1e-9)).to(token_embeddings.dtype)


def mean_sqrt_len_tokens_pooling(token_embeddings, attention_mask):
    wide = torch.promote_types(token_embeddings.dtype, torch.float32)  # half precision sums in float32
    mask = attention_mask.unsqueeze(-1).to(token_embeddings.dtype)
    total = (token_embeddings * mask).sum(dim=1, dtype=wide)
    return (total / mask.sum(dim=1, dtype=wide).clamp(min=1e-9).sqrt()).to(token_embeddings.dtype)


def weightedmean_pooling(token_embeddings, attention_mask, full_mask=None):
    # full_mask: the mask with an excluded prompt's tokens still in (weights count from the prompt's start)
    wide = torch.promote_types(token_embeddings.dtype, torch.float32)  # half precision sums in float32
    length = token_embeddings.shape[1]
    positions = torch.arange(1, length + 1, device=token_embeddings.device, dtype=wide)
    starts = attention_mask if full_mask is None else full_mask
    first = starts.to(torch.int32).argmax(dim=1, keepdim=True)  # left padding must not shift weights
    weights = ((positions.unsqueeze(0) - first) * attention_mask).unsqueeze(-1).to(wide)
    total = (token_embeddings * weights).sum(dim=1)
    return (total / weights.sum(dim=1).clamp(min=1e-9)).to(token_embeddings.dtype)


def lasttoken_pooling(token_embeddings, attention_mask):
    last = attention_mask.shape[1] - 1 - attention_mask.to(torch.int32).flip(1).argmax(dim=1)
    rows = torch.arange(token_embeddings.shape[0], device=token_embeddings.device)
    pooled = token_embeddings[rows, last]
    return pooled * attention_mask.any(dim=1, keepdim=True).to(token_embeddings.dtype)  # empty text -> 0


def exclude_prompt(attention_mask: torch.Tensor, prompt_length: int) -> torch.Tensor:
    """A copy of the mask with the first ``prompt_length`` real tokens of every row (the prompt) zeroed."""
    first = attention_mask.to(torch.int32).argmax(dim=1, keepdim=True)  # (B, 1): left padding, if any
    positions = torch.arange(attention_mask.shape[1], device=attention_mask.device).unsqueeze(0)
    return attention_mask.masked_fill(positions < first + prompt_length, 0)


def _token_mask(features: dict[str, torch.Tensor], tokens: torch.Tensor) -> torch.Tensor:
    """The features' attention mask, or all ones where they hold none of the token axis's width (a strided or
    even-kernel CNN changes that width; an LSTM / CNN pipeline may be fed ``sentence_lengths`` only): every
    token is pooled then, as sentence-transformers' Pooling does."""
    mask = features.get("attention_mask")
    if mask is not None and mask.shape[-1] == tokens.shape[1]:
        return mask
    return torch.ones(tokens.shape[:-1], dtype=torch.int64, device=tokens.device)


def _prompt_length(value: Any) -> int:
    """``features["prompt_length"]`` as one count: an int, a 0-d tensor, or a tensor with one count per row
    (sentence-transformers' collator gives one; it reads the first, every row having the same prompt)."""
    if value is None:
        return 0
    if hasattr(value, "reshape"):  # a tensor
        return int(value.reshape(-1)[0]) if value.numel() else 0
    return int(value)


def _pool(mode: str, tokens: torch.Tensor, mask: torch.Tensor, text_only: torch.Tensor, weights: Any) -> Any:
    """One mode's pooled (B, D). ``text_only``: the mask without an excluded prompt (``mask`` itself when the
    prompt is pooled); ``weights``: WordWeights' ``token_weights_sum`` (B,), or None."""
    if weights is not None and mode in _WORD_WEIGHTED_MODES:
        return _pool_word_weighted(mode, tokens, mask, text_only, weights)
    if mode == "weightedmean":  # sentence-transformers counts the weights from the prompt's first token
        return weightedmean_pooling(tokens, text_only, full_mask=mask)
    return POOLING_FUNCTIONS[mode](tokens, text_only)


_WORD_WEIGHTED_MODES = ("mean", "mean_sqrt_len_tokens", "weightedmean")


def _pool_word_weighted(
    mode: str, tokens: torch.Tensor, mask: torch.Tensor, text_only: torch.Tensor, weights: torch.Tensor
) -> Any:
    """After WordWeights the mean modes and weightedmean divide by the sum of the word weights, not by the
    token count or the position weights (sentence-transformers' rule; the tokens arrive already weighted)."""
    wide = torch.promote_types(tokens.dtype, torch.float32)  # half precision sums in float32
    if mode == "weightedmean":  # position weights from the first real token, a left-out prompt's included
        positions = torch.arange(1, tokens.shape[1] + 1, device=tokens.device, dtype=wide)
        first = mask.to(torch.int32).argmax(dim=1, keepdim=True)
        total = (tokens * ((positions - first) * text_only).unsqueeze(-1).to(wide)).sum(dim=1)
    else:
        total = (tokens * text_only.unsqueeze(-1).to(tokens.dtype)).sum(dim=1, dtype=wide)
    denominator = weights.unsqueeze(-1).to(torch.promote_types(wide, weights.dtype)).clamp(min=1e-9)
    pooled = total / (denominator.sqrt() if mode == "mean_sqrt_len_tokens" else denominator)
    return pooled.to(torch.promote_types(tokens.dtype, weights.dtype))


# mode -> pooling function, by the names the model card's example prints the sources of
POOLING_FUNCTIONS = {mode: globals()[name] for mode, name in POOLING_FUNCTION_NAMES.items()}


def parse_pooling_mode(mode: str | Sequence[str]) -> tuple[str, ...]:
    """One mode or several (concatenated in the given order); unknown names raise InputError."""
    modes = (mode,) if isinstance(mode, str) else tuple(mode)
    if not modes:
        raise InputError(f"pooling mode must name at least one of {POOLING_MODES}")
    for m in modes:
        if m not in POOLING_MODES:
            raise InputError(f"Invalid pooling mode: {m!r}. Valid pooling modes are: {POOLING_MODES}.")
    return modes


def _warn_classic_flags(flags: dict[str, Any]) -> None:
    """sentence-transformers 6 takes the classic ``pooling_mode_*`` booleans, with a FutureWarning."""
    named = [key for key in flags if key in CLASSIC_POOLING_KEYS]
    if named:
        listed = ", ".join(f"`{key}`" for key in named)
        message = f"The {listed} argument(s) are deprecated. Please use `pooling_mode` instead."
        warn_at_caller(message, FutureWarning)


class Pooling(Module):
    """Pools token embeddings under the attention mask.

    Args:
        embedding_dimension: hidden size D of the token embeddings (``word_embedding_dimension`` is the
            older keyword for it).
        pooling_mode: ``"mean"`` (default), ``"cls"``, ``"max"``, ``"mean_sqrt_len_tokens"``,
            ``"weightedmean"``, ``"lasttoken"``, or a sequence of them whose results are concatenated
            (``mode`` is sbert's older keyword for it). sentence-transformers' classic flags
            (``pooling_mode_cls_token=True``, ...) are read as the modes they set.
        include_prompt: ``False`` leaves the prompt's tokens out of the pooling (``features["prompt_length"]``
            tokens after any left padding), as sentence-transformers does for instruction models.
    """

    POOLING_MODES = POOLING_MODES  # sentence-transformers' class attribute: the valid mode names
    config_key_renames = {"word_embedding_dimension": "embedding_dimension"}  # sentence-transformers 5's name
    config_keys = ["embedding_dimension", "pooling_mode", "include_prompt"]  # sentence-transformers 6's

    @renamed_keywords(word_embedding_dimension="embedding_dimension")
    def __init__(
        self,
        embedding_dimension: int | None = None,
        pooling_mode: str | Sequence[str] | None = None,
        include_prompt: bool = True,
        *,
        mode: str | Sequence[str] | None = None,
        **classic_flags: bool,
    ) -> None:
        super().__init__()
        if embedding_dimension is None:
            raise TypeError("Pooling() needs embedding_dimension, the hidden size of the token embeddings")
        if classic_flags:
            _warn_classic_flags(classic_flags)
        if mode is not None and pooling_mode is not None:
            raise TypeError("Pooling() got both pooling_mode and mode; pass pooling_mode only")
        chosen = pooling_mode if pooling_mode is not None else mode
        if chosen is None:
            chosen = pooling_modes_from_flags(classic_flags)
        elif classic_flags:  # sentence-transformers drops the flags when pooling_mode is given
            pooling_modes_from_flags(classic_flags)  # still refuses unknown keywords
        self.word_embedding_dimension = int(embedding_dimension)
        self.modes = parse_pooling_mode(chosen)
        self.include_prompt = include_prompt

    @property
    def embedding_dimension(self) -> int:
        return self.word_embedding_dimension

    @property
    def pooling_mode(self) -> str | tuple[str, ...]:
        return self.mode

    @property
    def mode(self) -> str | tuple[str, ...]:
        return self.modes[0] if len(self.modes) == 1 else self.modes

    @property
    def input_width(self) -> int:
        return self.word_embedding_dimension

    def take_input_width(self, width: int) -> None:
        """Pool ``width``-dim token embeddings (a config that names another width: it reads none of it)."""
        self.word_embedding_dimension = int(width)

    def get_embedding_dimension(self) -> int:
        return self.word_embedding_dimension * len(self.modes)

    @property
    def pooling_output_dimension(self) -> int:
        """sentence-transformers' attribute: the width of the pooled embedding."""
        return self.get_embedding_dimension()

    def forward(self, features: dict[str, torch.Tensor], **kwargs: Any) -> dict[str, torch.Tensor]:
        tokens = features["token_embeddings"]  # (B, T, D)
        mask = _token_mask(features, tokens)  # (B, T)
        weights_sum = features.get("token_weights_sum")  # (B,), set by WordWeights
        prompt_length = 0 if self.include_prompt else _prompt_length(features.get("prompt_length"))
        text_only = exclude_prompt(mask, prompt_length) if prompt_length else mask
        pooled = [_pool(m, tokens, mask, text_only, weights_sum) for m in self.modes]
        if "cls_token_embeddings" in features and "cls" in self.modes:  # an encoder's own CLS output
            pooled[self.modes.index("cls")] = features["cls_token_embeddings"]
        features["sentence_embedding"] = torch.cat(pooled, dim=-1)  # (B, D * modes)
        return features

    def get_config_dict(self) -> dict[str, Any]:
        """sentence-transformers 6's settings (its ``config_keys``), as its ``get_config_dict`` and repr give
        them; :meth:`save` writes the classic file that every release reads."""
        return pooling_settings(self.word_embedding_dimension, self.modes, self.include_prompt)

    def __repr__(self) -> str:
        return f"Pooling({self.get_config_dict()})"

    def usage_code(self, index: int) -> dict[str, str]:
        """This module's part of the model card's plain-transformers example (see sbert._format.card)."""
        return pooling_usage(self.modes, self.include_prompt)

    def save(self, folder: str | os.PathLike, *args: Any, **kwargs: Any) -> None:
        config = pooling_config_to_file(self.word_embedding_dimension, self.modes, self.include_prompt)
        (Path(folder) / CONFIG_FILE).write_text(json.dumps(config, indent=2))

    @classmethod
    @st_loading
    def load(cls, folder: str | os.PathLike, **options: Any) -> Pooling:
        dim, modes, include_prompt = pooling_config_from_file(Path(folder) / CONFIG_FILE)
        return cls(dim, modes, include_prompt=include_prompt)

    @classmethod
    def load_config(cls, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """The saved config, its classic ``pooling_mode_*_tokens`` flags read as one ``pooling_mode``."""
        return classic_flags_as_mode(super().load_config(*args, **kwargs))
