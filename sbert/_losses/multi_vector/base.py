"""What the multi-vector losses share: embedding a column into token embeddings and their scoring mask,
as sentence-transformers' multi-vector losses embed them.

The query column runs alone; the candidate columns (positives, negatives, ...) run as one batch, their rows
padded to the widest column, when their features allow it (same keys, same ``task``; not inside
``column_merging_disabled``), each in ``mini_batch_size`` row chunks when set (a chunk cut to its own
longest row). The model's output ``attention_mask`` is the scoring mask (a MultiVectorMask has written the
skiplist and query expansion into it).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any

import torch

from ..._maxsim import cat_padded_token_embeddings
from ..base import Features, Loss
from ..column_merge import merge_feature_batches
from ..grad_cache import batch_rows, row_range

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
        self, sentence_features: Sequence[Features], mini_batch_size: int | None
    ) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        """Each candidate column's token embeddings and masks (``(B, T_c, dim)``, ``(B, T_c)``)."""
        merged = merge_feature_batches(list(sentence_features)) if len(sentence_features) > 1 else None
        if merged is None:
            outputs = [self._chunked(features, mini_batch_size) for features in sentence_features]
            return [e for e, _ in outputs], [m for _, m in outputs]
        embeddings, mask = self._chunked(merged, mini_batch_size)
        n = len(sentence_features)
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
