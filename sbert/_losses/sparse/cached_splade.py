"""CachedSpladeLoss: SpladeLoss over batches larger than memory holds, by GradCache."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import torch
from torch import nn

from ..._checks import check_positive_int
from ..base import Features, loss_total
from ..cached_mixin import CachedSteps
from ..citations import CACHED_SPLADE
from ..grad_cache import CachedLoss, check_num_tokens
from .splade import SpladeLoss


class CachedSpladeLoss(SpladeLoss, CachedSteps, CachedLoss):
    """:class:`SpladeLoss` with GradCache (Gao et al. 2021): the same loss and gradient, but the model's graph
    is held for ``mini_batch_size`` rows at a time, so the batch (and with it the in-batch negatives of
    ``SparseMultipleNegativesRankingLoss``) can be far larger than memory would allow.

    Every column is embedded in mini-batches without a graph; the inner loss and the regularizers run on the
    whole batch of embeddings; then each mini-batch is embedded again with its graph (the same dropout) and
    gets its share of the gradient. The parts are logged as ``SpladeLoss``'s.

    Args:
        model, loss, document_regularizer_weight, query_regularizer_weight, document_regularizer,
            query_regularizer, document_regularizer_threshold, query_regularizer_threshold,
            use_document_regularizer_only: as for :class:`SpladeLoss`.
        mini_batch_size: rows embedded at a time (default 32): less memory, the same result.
        mini_batch_num_tokens: instead, mini-batches of consecutive rows holding at most this many real
            (non-padding) tokens together, as sentence-transformers packs them (a longer row alone).
        show_progress_bar: show the mini-batches' progress.

    As in sentence-transformers, a subclass may override its GradCache steps, ``embed_minibatch``,
    ``embed_minibatch_iter`` and ``calculate_loss(reps, labels, *, with_backward=False)`` (the parts logged
    are those the default ``calculate_loss`` recorded, through ``super()``).

    Example::

        loss = CachedSpladeLoss(model, loss=SparseMultipleNegativesRankingLoss(model), mini_batch_size=16,
                                document_regularizer_weight=3e-5, query_regularizer_weight=5e-5)
        args = SparseEncoderTrainingArguments(output_dir="out", per_device_train_batch_size=512)
    """

    citation = CACHED_SPLADE

    def __init__(
        self,
        model: Any,
        loss: nn.Module,
        document_regularizer_weight: float,
        query_regularizer_weight: float | None = None,
        document_regularizer: nn.Module | None = None,
        query_regularizer: nn.Module | None = None,
        document_regularizer_threshold: int | None = None,
        query_regularizer_threshold: int | None = None,
        use_document_regularizer_only: bool = False,
        mini_batch_size: int = 32,
        mini_batch_num_tokens: int | None = None,
        show_progress_bar: bool = False,
    ) -> None:
        check_positive_int("mini_batch_size", mini_batch_size)
        check_num_tokens("CachedSpladeLoss", mini_batch_num_tokens)
        super().__init__(
            model,
            loss,
            document_regularizer_weight,
            query_regularizer_weight,
            document_regularizer,
            query_regularizer,
            document_regularizer_threshold,
            query_regularizer_threshold,
            use_document_regularizer_only,
        )
        self.mini_batch_size, self.show_progress_bar = mini_batch_size, show_progress_bar
        self.mini_batch_num_tokens = mini_batch_num_tokens
        self._parts: dict[str, torch.Tensor] = {}

    def loss_terms(
        self, embeddings: list[torch.Tensor], guide: list[torch.Tensor] | None, labels: torch.Tensor | None
    ) -> Iterator[torch.Tensor]:
        """One term, the whole loss (the regularizers need every row at once); its parts kept for the log."""
        parts = SpladeLoss.compute_loss_from_embeddings(self, embeddings, labels)
        self._parts = {key: value.detach() for key, value in parts.items()}
        yield loss_total(parts)

    def forward(  # type: ignore[override]
        self, sentence_features: Sequence[Features], labels: torch.Tensor | None
    ) -> dict[str, torch.Tensor]:
        """The parts by name, the first one carrying the gradient (the total less the others), so that they
        sum to the cached total."""
        self._parts = {}
        total = CachedSteps.forward(self, sentence_features, labels)
        parts = dict(self._parts) or {
            "base_loss": total.detach()
        }  # a calculate_loss that never recorded them
        first, *others = parts
        parts[first] = total - sum((parts[key] for key in others), torch.zeros_like(total))
        return parts

    def config(self) -> dict[str, Any]:
        return {
            **super().config(),
            "mini_batch_size": self.mini_batch_size,
            "mini_batch_num_tokens": self.mini_batch_num_tokens,
        }
