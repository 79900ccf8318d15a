"""MultiVectorMultipleNegativesRankingLoss: in-batch negatives for a MultiVectorEncoder, scored with
MaxSim."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import torch
from torch import nn

from ..._errors import InputError
from ..._maxsim import stack_padded_token_embeddings
from ..base import Features
from ..citations import SMART_REPLY
from ..gathering import empty_term, gather_token_rows
from .base import MultiVectorLoss
from .scoring import group_scores


class MultiVectorMultipleNegativesRankingLoss(MultiVectorLoss):
    """For each query, its positive document against every other document of the batch (and the hard
    negatives): a softmax cross-entropy over the ``(Q, Q * N)`` scores ``scale * MaxSim(q_i, d_j)``.

    Args:
        model: the :class:`sbert.MultiVectorEncoder` to train.
        scale: multiplies the scores before the softmax (``1 / temperature``; default 1: MaxSim sums one
            similarity per query token, so its range is already wide).
        similarity_fct: the scores of queries ``(Q, q_tokens, dim)`` against stacked document groups
            ``(Q, N, d_tokens, dim)`` as ``(Q, Q * N)``, query-major (``colbert_scores``, ``XTRScores()``);
            default the model's ``similarity`` (MaxSim, or MeanMaxSim for
            ``similarity_fn_name="meanmaxsim"``).
        mini_batch_size: embed the candidate columns this many rows at a time (less padding; the same loss).
        score_mini_batch_size: score this many queries at a time (less memory; the same loss).
        gather_across_devices: under DDP (torchrun), rank against every process's documents (their token
            embeddings padded to the longest across processes), with gradients, as sentence-transformers
            does; in one process the same loss as False.

    Requirements:
        (anchor, positive) pairs or (anchor, positive, negative_1, ..., negative_n) tuples; no label.

    Example::

        from datasets import Dataset
        from sbert.multi_vector_encoder import MultiVectorEncoder, MultiVectorEncoderTrainer
        from sbert.multi_vector_encoder.losses import MultiVectorMultipleNegativesRankingLoss

        model = MultiVectorEncoder("path/to/encoder")
        data = Dataset.from_dict({"query": ["what is a cat"], "positive": ["Cats are small felines."]})
        loss = MultiVectorMultipleNegativesRankingLoss(model)
        MultiVectorEncoderTrainer(model=model, train_dataset=data, loss=loss).train()
    """

    citation = SMART_REPLY

    def __init__(
        self,
        model: Any,
        *,
        scale: float = 1.0,
        similarity_fct: Callable[..., torch.Tensor] | None = None,
        mini_batch_size: int | None = None,
        score_mini_batch_size: int | None = None,
        gather_across_devices: bool = False,
    ) -> None:
        super().__init__(model)
        if not scale > 0:
            raise InputError(f"{type(self).__name__}: scale must be a positive value, got {scale!r}.")
        self.scale = scale
        self.similarity_fct = similarity_fct
        self.mini_batch_size = mini_batch_size
        self.score_mini_batch_size = score_mini_batch_size
        self.gather_across_devices = gather_across_devices
        self.collective = gather_across_devices  # every process must join each step's exchange

    def forward(
        self, sentence_features: Sequence[Features], labels: torch.Tensor | None = None
    ) -> torch.Tensor:
        sentence_features = [dict(f) for f in sentence_features]
        queries, query_mask = self.embed(sentence_features[0], "query")
        documents, document_masks = self.embed_candidates(sentence_features[1:], self.mini_batch_size)
        documents, document_masks, offset = gather_token_rows(
            documents, document_masks, self.gather_across_devices
        )
        if len(queries) == 0:  # no rows here this step
            return empty_term(documents)
        stacked, stacked_mask = stack_padded_token_embeddings(documents, document_masks)
        step = self.score_mini_batch_size
        return ranking_loss(
            queries, query_mask, stacked, stacked_mask, self.scorer(), self.scale, step, offset
        )

    def scorer(self) -> Callable[..., torch.Tensor]:
        if self.similarity_fct is not None:
            return self.similarity_fct
        return partial(group_scores, self.model.similarity)

    def config(self) -> dict[str, Any]:
        return {
            "scale": self.scale,
            "similarity_fct": self.similarity_config(),
            "mini_batch_size": self.mini_batch_size,
            "score_mini_batch_size": self.score_mini_batch_size,
            "gather_across_devices": self.gather_across_devices,
        }

    get_config_dict = config


def ranking_scores(
    queries: torch.Tensor,
    query_mask: torch.Tensor,
    documents: torch.Tensor,
    document_mask: torch.Tensor,
    scorer: Callable[..., torch.Tensor],
    begin: int,
    end: int,
) -> torch.Tensor:
    """``(end - begin, Q * N)`` scores of queries ``begin:end`` against all document groups."""
    return scorer(
        queries[begin:end], documents, queries_mask=query_mask[begin:end], documents_mask=document_mask
    )


def ranking_loss(
    queries: torch.Tensor,
    query_mask: torch.Tensor,
    documents: torch.Tensor,
    document_mask: torch.Tensor,
    scorer: Callable[..., torch.Tensor],
    scale: float,
    step: int | None,
    offset: int = 0,
) -> torch.Tensor:
    """The cross-entropy of each query's positive (column ``(offset + i) * N``: ``offset`` the index of this
    process's first row among gathered documents) among all scores, batch mean."""
    n, per_query = len(queries), documents.shape[1]
    step = step or n
    scores = torch.cat(
        [
            ranking_scores(queries, query_mask, documents, document_mask, scorer, b, b + step)
            for b in range(0, n, step)
        ]
    )
    targets = (torch.arange(n, device=queries.device) + offset) * per_query
    return nn.functional.cross_entropy(scores * scale, targets)
