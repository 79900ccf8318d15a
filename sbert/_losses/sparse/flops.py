"""FlopsLoss: the FLOPS regularizer that keeps SPLADE embeddings sparse (Paria et al. 2020)."""

from __future__ import annotations

from typing import Any

import torch

from ..base import Loss
from ..citations import FLOPS
from .inner import InnerLoss


class FlopsLoss(InnerLoss, Loss):
    """The squared L2 norm of the batch's mean embedding, ``sum_j mean_i(w_ij) ** 2``: small when few
    vocabulary entries are active across the batch, which is what makes sparse retrieval fast. With
    ``threshold``, only embeddings with more than ``threshold`` active entries count (FLOPS with L0 masking,
    https://arxiv.org/abs/2504.14839); the others are left as sparse as they are.

    A regularizer of :class:`SpladeLoss` (its default for queries and documents), not a loss of its own: on
    its own it raises, as sentence-transformers' does.

    Args:
        model: the :class:`sbert.SparseEncoder` it regularizes.
        threshold: the active-entry count above which an embedding is regularized (default: every one).

    References:
        Minimizing FLOPs to learn efficient sparse representations, https://arxiv.org/abs/2004.05665
    """

    citation = FLOPS

    is_regularizer = True

    def __init__(self, model: Any, threshold: float | None = None) -> None:
        super().__init__(model)
        self.threshold = threshold

    def compute_loss_from_embeddings(  # type: ignore[override]
        self, embeddings: torch.Tensor, labels: torch.Tensor | None = None
    ) -> torch.Tensor:
        """The regularizer of ``(N, V)`` embeddings (one tensor, the rows of every column it covers)."""
        if self.threshold is not None:
            active = (embeddings != 0).sum(dim=1)  # (N,)
            embeddings = embeddings * (active > self.threshold).float().unsqueeze(1)
        return torch.sum(torch.mean(embeddings, dim=0) ** 2)

    def config(self) -> dict[str, Any]:
        return {"threshold": self.threshold}
