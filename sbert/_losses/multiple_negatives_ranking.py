"""MultipleNegativesRankingLoss: in-batch negatives (InfoNCE) on (anchor, positive[, negatives...])."""

from __future__ import annotations

from typing import Any

import torch

from .._errors import InputError
from .base import Loss, cos_sim_matrix
from .gathering import empty_term, gather_rows
from .metrics import custom_similarity, recorded_similarity
from .ranking import (
    DEFAULT,
    RankingAttributes,
    ranking_options,
    symmetric_ranking_loss,
)


class MultipleNegativesRankingLoss(RankingAttributes, Loss):
    """Cross-entropy of finding each anchor's positive among all candidates of the batch.

    For a batch of ``(a_i, p_i)`` pairs, ``p_i`` is the positive of ``a_i`` and every other ``p_j`` (and any
    hard negative ``n_j``) is a negative: ``loss = CE(scale * cos(a_i, candidates), i)``. Bigger batches
    give more negatives and usually better models. Only positive pairs are needed, e.g. (question, answer),
    (NLI premise, entailed hypothesis), (query, relevant passage); make sure a batch holds no duplicates.

    Args:
        model: the :class:`sbert.SentenceTransformer` to train.
        scale: inverse temperature of the softmax over cosine similarities (default 20).
        similarity_fct: the score of two embedding tensors, a matrix ``(N, M)`` of ``(N, D)`` and ``(M, D)``;
            default cosine (``util.cos_sim``); e.g. ``util.dot_score`` for a model searched by dot product.
        gather_across_devices: under DDP (torchrun), use the candidates (and, with more directions, the
            anchors) of every process as negatives, with gradients, so that each step's loss equals the
            one-process loss on the global batch; default False (each process ranks among its own share of
            the batch only, which gives fewer negatives).
        directions: the candidates of each anchor ``q_i`` (its positive ``d_i``), as in sentence-transformers
            6.3: ``"query_to_doc"`` (required: every document), ``"query_to_query"`` (the other anchors),
            ``"doc_to_query"`` (``d_i`` ranks the anchors), ``"doc_to_doc"`` (``d_i`` against other queries'
            documents). ``("query_to_doc", "doc_to_query")`` with ``partition_mode="per_direction"`` is
            :class:`MultipleNegativesSymmetricRankingLoss`; all four (joint) is GTE's
            improved contrastive loss.
        partition_mode: ``"joint"`` (one softmax over every direction's candidates) or ``"per_direction"``
            (a softmax per direction, averaged; not with query_to_query or doc_to_doc).
        hardness_mode, hardness_strength: add ``hardness_strength * stop_grad(similarity)`` to the logits of
            ``"in_batch_negatives"`` (other anchors' documents), ``"hard_negatives"`` (the anchor's own
            negative columns) or ``"all_negatives"``, so that harder negatives weigh more (Lan et al. 2025);
            default off.

    Requirements:
        (anchor, positive) pairs, or (anchor, positive, negative_1, ..., negative_n) with hard negatives.

    Inputs:

        +-----------------------------------------------+--------+
        | Texts                                         | Labels |
        +===============================================+========+
        | (anchor, positive) pairs                      | none   |
        +-----------------------------------------------+--------+
        | (anchor, positive, negative) triplets         | none   |
        +-----------------------------------------------+--------+
        | (anchor, positive, negative_1, ..., negative_n) | none |
        +-----------------------------------------------+--------+

    Example::

        from sbert import (MultipleNegativesRankingLoss, SentenceTransformer, Trainer, TrainingArguments,
                           load_dataset)

        model = SentenceTransformer()
        train = load_dataset([("What is the capital of France?", "Paris is the capital of France."),
                              ("How many legs has a spider?", "Spiders have eight legs.")])
        loss = MultipleNegativesRankingLoss(model)
        Trainer(model, train, loss, args=TrainingArguments(output_dir="out")).train()
    """

    max_columns = None

    def __init__(
        self,
        model: Any,
        scale: float = 20.0,
        similarity_fct: Any = None,
        gather_across_devices: bool = False,
        directions: tuple[str, ...] = ("query_to_doc",),
        partition_mode: str = "joint",
        hardness_mode: str | None = None,
        hardness_strength: float = 0.0,
    ) -> None:
        super().__init__(model)
        if not scale > 0:
            raise InputError(f"scale must be positive, got {scale!r}")
        name = type(self).__name__
        self.ranking = ranking_options(directions, partition_mode, hardness_mode, hardness_strength)
        self.scale = scale
        self._similarity = custom_similarity(similarity_fct, "cos_sim", name)
        self.gather_across_devices = gather_across_devices
        self.collective = gather_across_devices  # every process must join each step's exchange

    def compute_loss_from_embeddings(
        self, embeddings: list[torch.Tensor], labels: torch.Tensor | None
    ) -> torch.Tensor:
        if self.ranking != DEFAULT:  # more directions or hardness: sentence-transformers 6.3's general form
            return symmetric_ranking_loss(
                embeddings, self.scale, self._similarity, self.gather_across_devices, self.ranking
            )
        anchors = embeddings[0]  # (B, D)
        # [(B_all, D)] * (1 + negatives)
        candidates, offset = gather_rows(embeddings[1:], self.gather_across_devices)
        if anchors.shape[0] == 0:  # no rows here this step: take part in the exchange, add nothing
            return empty_term(candidates)
        # (B, B_all * (1 + negatives))
        scores = (self._similarity or cos_sim_matrix)(anchors, torch.cat(candidates)) * self.scale
        # anchor i's positive is row offset + i of the first candidate column
        rows = torch.arange(anchors.shape[0], device=scores.device)
        positive = scores[rows, rows + offset]
        # cross-entropy written out as sentence-transformers (6.3) computes it, log Z - positive score: the
        # same value, and the same float rounding of the gradients as its trainer (nn.CrossEntropyLoss rounds
        # differently, which moves the near-zero gradients that AdamW's first step turns into full steps)
        return (torch.logsumexp(scores, dim=1) - positive).mean()

    def config(self) -> dict[str, Any]:
        return {
            "scale": self.scale,
            "similarity_fct": recorded_similarity(self._similarity, "cos_sim"),
            "gather_across_devices": self.gather_across_devices,
            **self.ranking.config(),
        }
