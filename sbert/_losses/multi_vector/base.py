"""What the multi-vector losses share: embedding a column into token embeddings and their scoring mask,
as sentence-transformers' multi-vector losses embed them.

The query column runs alone; the candidate columns (positives, negatives, ...) run as one batch, their rows
padded to the widest column, when their features allow it (same keys, same ``task``; not inside
``column_merging_disabled``), each in ``mini_batch_size`` row chunks when set (a chunk cut to its own
longest row). The model's output ``attention_mask`` is the scoring mask (a MultiVectorMask has written the
skiplist and query expansion into it).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import torch

from ..._maxsim import cat_padded_token_embeddings
from ..base import Features, Loss, is_metadata
from ..column_merge import merge_feature_batches

Chunks = list[list[torch.Tensor]]  # a cached loss's token embeddings: per column, per mini-batch


class MultiVectorLoss(Loss):
    """Base of the multi-vector losses: a query column, then any number of candidate columns."""

    max_columns: int | None = None

    def embed(self, features: Features, default_task: str) -> tuple[torch.Tensor, torch.Tensor]:
        """``(B, T, dim)`` token embeddings and the ``(B, T)`` boolean scoring mask of one column."""
        out = self.run_model(features, task=features.get("task", default_task))
        return out["token_embeddings"], out["attention_mask"].bool()

    def run_model(self, features: Features, task: str | None) -> dict[str, Any]:
        """The model's outputs of one batch (MultiVectorMatryoshkaLoss replaces this on the loss it wraps)."""
        return self.model(features, task=task)

    def embed_candidates(
        self, features_list: Sequence[Features], mini_batch_size: int | None
    ) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        """Each candidate column's token embeddings and masks (``(B, T_c, dim)``, ``(B, T_c)``)."""
        merged = merge_feature_batches(list(features_list)) if len(features_list) > 1 else None
        if merged is None:
            outputs = [self._chunked(features, mini_batch_size) for features in features_list]
            return [e for e, _ in outputs], [m for _, m in outputs]
        embeddings, mask = self._chunked(merged, mini_batch_size)
        n = len(features_list)
        return (
            list(embeddings.reshape(n, -1, *embeddings.shape[1:]).unbind(0)),
            list(mask.reshape(n, -1, mask.shape[-1]).unbind(0)),
        )

    def _chunked(self, features: Features, mini_batch_size: int | None) -> tuple[torch.Tensor, torch.Tensor]:
        rows = batch_rows(features)
        if mini_batch_size is None or mini_batch_size >= rows:
            return self.embed(features, "document")
        parts = [
            self.embed(row_range(features, begin, min(begin + mini_batch_size, rows)), "document")
            for begin in range(0, rows, mini_batch_size)
        ]
        return cat_padded_token_embeddings([e for e, _ in parts], [m for _, m in parts])

    def similarity_config(self) -> str | None:
        """The ``similarity_fct`` as sentence-transformers records it (its name, with its bound settings),
        ``None`` for the model's own."""
        fct = getattr(self, "similarity_fct", None)
        if fct is None:
            return None
        settings = getattr(fct, "keywords", None) if isinstance(fct, partial) else None
        if isinstance(fct, partial):
            fct = fct.func
        elif callable(getattr(fct, "get_config_dict", None)):
            settings = fct.get_config_dict()
        name = getattr(fct, "__name__", type(fct).__name__)
        args = ", ".join(f"{key}={value!r}" for key, value in (settings or {}).items())
        return f"{name}({args})" if args else name


def weighted_cached_step(
    calculate: Callable[..., torch.Tensor], chunks: Chunks, weight: float, *args: Any, **kwargs: Any
) -> torch.Tensor:
    """``weight`` times a cached loss's whole-batch step (``calculate``, with ``args``) on ``chunks``: token
    embeddings computed from its cached leaves (truncated, pooled). With gradients the step runs on new leaves
    and their gradients go back through that computation to the cached ones, where the cached loss reads
    them: its backward runs after the wrapping loss's forward has returned."""
    if not torch.is_grad_enabled():
        return weight * calculate(chunks, *args, **kwargs)
    leaves = [[chunk.detach().requires_grad_() for chunk in column] for column in chunks]
    loss = weight * calculate(leaves, *args, **kwargs)
    for chunk_column, leaf_column in zip(chunks, leaves):
        for chunk, leaf in zip(chunk_column, leaf_column):
            chunk.backward(weight * leaf.grad)
    return loss


def batch_rows(features: Features) -> int:
    return next(v.shape[0] for k, v in features.items() if not is_metadata(k, v) and v.dim() > 0)


def row_range(features: Features, begin: int, end: int) -> Features:
    """Rows ``begin:end`` of ``features``, the token columns after their last real one cut (query expansion
    positions count as real: they are scored)."""
    mask = features.get("attention_mask")
    width = None
    if isinstance(mask, torch.Tensor) and mask.dim() == 2:
        active = mask[begin:end].bool()
        expansion = features.get("query_expansion_positions")
        if isinstance(expansion, torch.Tensor):
            active = active | expansion[begin:end].bool()
        columns = active.any(dim=0).nonzero()
        if len(columns) and int(columns.max()) + 1 < mask.shape[1]:
            width = int(columns.max()) + 1
    out = {}
    for key, value in features.items():
        if is_metadata(key, value):
            out[key] = value
        elif width is not None and value.dim() >= 2 and value.shape[1] == mask.shape[1]:
            out[key] = value[begin:end, :width]
        else:
            out[key] = value[begin:end]
    return out
