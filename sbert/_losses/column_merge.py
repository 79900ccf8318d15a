"""Several text columns' features as one batch, and the switch that turns that off: sentence-transformers
6.3's ``merge_feature_batches`` and ``column_merging_disabled`` (its ``base.losses.merged_forward``).

The multi-vector losses merge their candidate columns with :func:`merge_feature_batches`; the dense losses
group rows by length (``base.embed_columns``). Both run one forward per column inside
:func:`column_merging_disabled`, as sentence-transformers' losses do, for a wrapper loss that hands state from
one call to the next through the per-column feature dicts.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from contextvars import ContextVar
from typing import Any

import torch
from torch import nn

logger = logging.getLogger(__name__)

_DISABLED: ContextVar[bool] = ContextVar("sbert_column_merging_disabled", default=False)
_REPORTED: set[str] = set()  # each reason once per process, as sentence-transformers' warning_once


@contextmanager
def _switched_on(switch: ContextVar[bool]) -> Iterator[None]:
    token = switch.set(True)
    try:
        yield
    finally:
        switch.reset(token)


def column_merging_disabled() -> AbstractContextManager[None]:
    """Inside the block every loss embeds each column in its own forward."""
    return _switched_on(_DISABLED)


def merging_disabled() -> bool:
    return _DISABLED.get()


_LENGTH_GROUPS: ContextVar[bool] = ContextVar("sbert_length_groups_with_dropout", default=False)


def length_groups_with_dropout() -> AbstractContextManager[None]:
    """Inside the block the dense losses group rows by length even where the model draws dropout masks
    (``base.embed_columns``): sbert's own Trainer, faster, its masks its own for a seed."""
    return _switched_on(_LENGTH_GROUPS)


def length_groups_kept() -> bool:
    return _LENGTH_GROUPS.get()


def _separate(reason: str) -> None:
    """Note why the columns run one forward each (speed only: the loss is the same), once; None."""
    if reason not in _REPORTED:
        _REPORTED.add(reason)
        logger.warning(
            f"Note: embedding each input column in its own forward pass, because {reason}. Columns that "
            "preprocess identically are combined into one forward pass instead, which is faster. The loss "
            "and gradients are the same either way, up to dropout sampling."
        )
    return None


def _rows(features: dict[str, Any]) -> int:
    for key in ("input_ids", "attention_mask"):
        if isinstance(features.get(key), torch.Tensor):
            return features[key].shape[0]
    return next(v.shape[0] for v in features.values() if isinstance(v, torch.Tensor) and v.ndim > 0)


def merge_feature_batches(sentence_features: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The columns' features as one batch, column after column, each token tensor zero-padded to the widest
    column; ``prompt_length`` and other values that are no row tensors must be equal in every column and are
    kept once. None where the columns cannot share a forward (other keys, shapes or metadata, a flattened
    batch, float tensors that would need padding, no ``(B, T)`` ``input_ids`` / ``attention_mask``) or
    inside :func:`column_merging_disabled`."""
    if _DISABLED.get():
        return None
    first = sentence_features[0]
    if any(set(features) != set(first) for features in sentence_features[1:]):
        return _separate("the columns preprocess to different sets of features")
    if "cu_seq_lens_q" in first:  # a flattened batch's offsets would be scrambled
        return None
    tokens = ("input_ids", "attention_mask")
    if not any(isinstance(first.get(k), torch.Tensor) and first[k].ndim >= 2 for k in tokens):
        return None  # no (B, T) token rows to align by (StaticEmbedding's flat stream)
    rows = _rows(first)
    merged: dict[str, Any] = {}
    for key, value in first.items():
        values = [features[key] for features in sentence_features]
        if isinstance(value, torch.Tensor) and key != "prompt_length":
            merged_value = _merged_tensor(key, value, values, rows)
            if merged_value is None:
                return None
            merged[key] = merged_value
        elif not _all_equal(key, value, values[1:]):
            return None
        else:
            merged[key] = value
    return merged


def _merged_tensor(key: str, first: torch.Tensor, values: list[Any], rows: int) -> torch.Tensor | None:
    if any(not isinstance(v, torch.Tensor) or v.ndim != first.ndim for v in values):
        return _separate(f"the columns give {key!r} a different shape each")
    if any(v.ndim == 0 or v.shape[0] != rows for v in values):
        return _separate(f"{key!r} is not indexed by sample, so its rows cannot be combined")
    if first.ndim >= 2:
        if any(v.shape[2:] != first.shape[2:] for v in values):
            return _separate(f"the columns give {key!r} a different shape each")
        width = max(v.shape[1] for v in values)
        if any(v.shape[1] != width for v in values):
            # only token ids and masks pad safely: the added positions have attention_mask 0
            if first.is_floating_point() or first.is_complex():
                return _separate(f"{key!r} is a float tensor that would need padding to combine")
            values = [nn.functional.pad(v, [0, 0] * (v.ndim - 2) + [0, width - v.shape[1]]) for v in values]
    return torch.cat(values, dim=0)


def _all_equal(key: str, first: Any, others: list[Any]) -> bool:
    try:
        if isinstance(first, torch.Tensor):
            unequal = any(not isinstance(v, torch.Tensor) or not torch.equal(v, first) for v in others)
        else:
            unequal = any(bool(v != first) for v in others)
    except (RuntimeError, ValueError):  # values that cannot be compared cannot be shown equal
        _separate(f"the columns cannot be compared on {key!r}")
        return False
    if unequal:
        _separate(f"the columns disagree on {key!r}")
    return not unequal


def embed_columns_merged(
    model: Any, sentence_features: list[dict[str, Any]], separate_first: bool = True
) -> list[torch.Tensor]:
    """sentence-transformers' ``embed_columns``: each column's ``sentence_embedding``, the first column in its
    own forward (``separate_first``), the others in one forward where :func:`merge_feature_batches` allows,
    else one forward each."""
    sentence_features = list(sentence_features)
    if separate_first and sentence_features:
        first = model(sentence_features[0])["sentence_embedding"]
        return [first, *embed_columns_merged(model, sentence_features[1:], separate_first=False)]
    merged = merge_feature_batches(sentence_features) if len(sentence_features) > 1 else None
    if merged is None:
        return [model(features)["sentence_embedding"] for features in sentence_features]
    embeddings = model(merged)["sentence_embedding"]
    return list(embeddings.reshape(len(sentence_features), -1, *embeddings.shape[1:]).unbind(0))
