"""MultipleNegativesSymmetricRankingLoss and its cached variant: in-batch negatives in both directions."""

from __future__ import annotations

from typing import Any

import torch

from .._errors import warn_at_caller
from .base import Loss
from .cached_multiple_negatives_ranking import CachedMultipleNegativesRankingLoss
from .metrics import custom_similarity, recorded_similarity
from .ranking import (
    SYMMETRIC,
    RankingAttributes,
    check_scale,
    symmetric_ranking_loss,
)


def _deprecated(name: str, replacement: str) -> None:
    """sentence-transformers 6's DeprecationWarning of the symmetric classes, at the user's line."""
    warn_at_caller(
        f"The {name} is deprecated and will be removed in a future release. Please use {replacement} with "
        "`directions=('query_to_doc', 'doc_to_query')` and `partition_mode='per_direction'` instead.",
        DeprecationWarning,
    )


class MultipleNegativesSymmetricRankingLoss(RankingAttributes, Loss):
    """:class:`MultipleNegativesRankingLoss` in both directions: each anchor finds its positive among all
    candidates, and each positive finds its anchor among all anchors; the two cross-entropies are averaged.

    Per example ``i``: ``(log Z_i^fwd + log Z_i^bwd) / 2 - scale * cos(a_i, p_i)``, with ``Z_i^fwd`` over all
    candidates of the batch (hard negatives too) and ``Z_i^bwd`` over all anchors. Useful where the relation
    is symmetric (paraphrases, question/duplicate question) or both directions are searched. The same as
    sentence-transformers' ``MultipleNegativesRankingLoss(directions=("query_to_doc", "doc_to_query"),
    partition_mode="per_direction")``.

    Args:
        model: the :class:`sbert.SentenceTransformer` to train.
        scale: inverse temperature of the softmax over cosine similarities (default 20).
        similarity_fct: the score of two embedding tensors (default cosine, ``util.cos_sim``).
        gather_across_devices: under DDP (torchrun), rank against every process's candidates and anchors,
            with gradients, as :class:`MultipleNegativesRankingLoss` does; in one process the same loss as
            False.

    Requirements:
        (anchor, positive) pairs, or (anchor, positive, negative_1, ..., negative_n); no duplicate texts in a
        batch.

    Inputs:
        (anchor, positive[, negative_1, ..., negative_n]) texts, no labels (as
        :class:`CachedMultipleNegativesRankingLoss`).

    Example::

        from sbert import (MultipleNegativesSymmetricRankingLoss, SentenceTransformer, Trainer,
                           TrainingArguments, load_dataset)

        model = SentenceTransformer()
        train = load_dataset([("How do I learn Python?", "What is the best way to learn Python?"),
                              ("Is tea healthy?", "Is drinking tea good for you?")])
        loss = MultipleNegativesSymmetricRankingLoss(model)
        Trainer(model, train, loss, args=TrainingArguments(output_dir="out")).train()
    """

    max_columns = None
    ranking = SYMMETRIC  # both directions, a softmax each

    def __init__(
        self, model: Any, scale: float = 20.0, similarity_fct: Any = None, gather_across_devices: bool = False
    ) -> None:
        _deprecated(type(self).__name__, "MultipleNegativesRankingLoss")
        super().__init__(model)
        check_scale(scale, type(self).__name__)
        self.scale = scale
        self._similarity = custom_similarity(similarity_fct, "cos_sim", type(self).__name__)
        self.gather_across_devices = gather_across_devices
        self.collective = gather_across_devices  # every process must join each step's exchange

    def compute_loss_from_embeddings(
        self, embeddings: list[torch.Tensor], labels: torch.Tensor | None
    ) -> torch.Tensor:
        return symmetric_ranking_loss(
            embeddings, self.scale, self._similarity, self.gather_across_devices, self.ranking
        )

    def config(self) -> dict[str, Any]:
        return {
            "scale": self.scale,
            "similarity_fct": recorded_similarity(self._similarity, "cos_sim"),
            "gather_across_devices": self.gather_across_devices,
            **self.ranking.config(),  # as sentence-transformers 6.3's subclass of MNRL lists them
        }


class CachedMultipleNegativesSymmetricRankingLoss(CachedMultipleNegativesRankingLoss):
    """:class:`MultipleNegativesSymmetricRankingLoss` with GradCache: the same loss and gradient at batch
    size B, with the memory of one mini-batch (see :class:`CachedMultipleNegativesRankingLoss`).

    Args:
        model: the :class:`sbert.SentenceTransformer` to train.
        scale: inverse temperature of the softmax over cosine similarities (default 20).
        mini_batch_size: rows embedded at once (default 32); it does not change the result.
        mini_batch_num_tokens, gather_across_devices: as for :class:`CachedMultipleNegativesRankingLoss`.
        show_progress_bar: show the embedding of each column's mini-batches.

    Requirements:
        (anchor, positive) pairs, or (anchor, positive, negative_1, ..., negative_n); a large batch size.

    Inputs:
        As :class:`MultipleNegativesSymmetricRankingLoss`.

    Example::

        from sbert import (CachedMultipleNegativesSymmetricRankingLoss, SentenceTransformer, Trainer,
                           TrainingArguments, load_dataset)

        model = SentenceTransformer("my-model")
        train = load_dataset("paraphrases.tsv", columns=["sentence1", "sentence2"])
        loss = CachedMultipleNegativesSymmetricRankingLoss(model, mini_batch_size=32)
        Trainer(model, train, loss, args=TrainingArguments(output_dir="out", batch_size=512)).train()
    """

    def __init__(
        self,
        model: Any,
        scale: float = 20.0,
        similarity_fct: Any = None,
        mini_batch_size: int = 32,
        mini_batch_num_tokens: int | None = None,
        gather_across_devices: bool = False,
        show_progress_bar: bool = False,
    ) -> None:
        _deprecated(type(self).__name__, "CachedMultipleNegativesRankingLoss")
        super().__init__(
            model,
            scale,
            similarity_fct,
            mini_batch_size,
            mini_batch_num_tokens,
            gather_across_devices,
            directions=SYMMETRIC.directions,  # both directions, a softmax each, as sentence-transformers 6.3
            partition_mode=SYMMETRIC.partition_mode,
            show_progress_bar=show_progress_bar,
        )
