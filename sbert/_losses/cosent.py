"""CoSENTLoss: a ranking loss over the cosine similarities of all pairs in the batch."""

from __future__ import annotations

from typing import Any

import torch

from .._search.exact import pairwise_cos_sim as util_pairwise_cos_sim
from .base import Loss, at_least_float32, check_label_count, pairwise_cos_sim
from .citations import COSENT
from .metrics import custom_similarity, recorded_similarity


class CoSENTLoss(Loss):
    """``log(1 + sum exp(scale * (s_kl - s_ij)))`` over all pairs ``(i, j)`` scored above ``(k, l)``.

    CoSENT (https://kexue.fm/archives/8847) only asks that pairs with a higher gold score get a higher
    cosine than pairs with a lower one, so the scores' scale does not matter. It is a drop-in replacement
    for :class:`CosineSimilarityLoss` that usually converges faster.

    Args:
        model: the :class:`sbert.SentenceTransformer` to train.
        scale: inverse temperature applied to the cosine similarities (default 20).

    Requirements:
        Pairs of texts with a float score; only their order within a batch matters.

    Inputs:

        +---------------------------+------------------------------+
        | Texts                     | Labels                       |
        +===========================+==============================+
        | (sentence_A, sentence_B)  | float score, on any scale    |
        +---------------------------+------------------------------+

    Example::

        from sbert import CoSENTLoss, SentenceTransformer, Trainer, TrainingArguments, load_dataset

        model = SentenceTransformer()
        train = load_dataset("stsb/train.tsv", columns=["sentence1", "sentence2"], label="score")
        Trainer(model, train, CoSENTLoss(model), args=TrainingArguments(output_dir="out")).train()
    """

    citation = COSENT

    label_kind = "score"

    def __init__(self, model: Any, scale: float = 20.0, similarity_fct: Any = None) -> None:
        super().__init__(model)
        self.scale = scale
        self._similarity = custom_similarity(similarity_fct, "pairwise_cos_sim", type(self).__name__)
        # the default reads as util.pairwise_cos_sim, as sentence-transformers', and is computed here in torch
        self.similarity_fct = self._similarity or util_pairwise_cos_sim

    def compute_loss_from_embeddings(
        self, embeddings: list[torch.Tensor], labels: torch.Tensor | None
    ) -> torch.Tensor:
        if self.similarity_fct is util_pairwise_cos_sim:  # util's: half precision as float32
            scores = pairwise_cos_sim(*(at_least_float32(column) for column in embeddings))  # (B,)
        else:
            scores = self.similarity_fct(*embeddings)
        if scores.dtype in (torch.float16, torch.bfloat16):  # scaled and summed in float32 (float64 stays)
            scores = scores.float()
        scores = scores * self.scale
        check_label_count(type(self).__name__, labels, scores.shape[0])
        labels = labels.view(-1)
        return ranking_loss(scores, labels.int() if labels.dtype == torch.bool else labels)

    def config(self) -> dict[str, Any]:
        return {
            "scale": self.scale,
            "similarity_fct": recorded_similarity(self._similarity, "pairwise_cos_sim"),
        }


def ranking_loss(scores: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """``log(1 + sum over label_i > label_j of exp(s_j - s_i))`` in O(B log B) time and O(B) memory.

    With the pairs sorted by label, the pairs labelled above pair ``j`` form a suffix of the order, so
    each ``j``'s sum is ``exp(s_j)`` times a suffix sum of ``exp(-s_i)``: one cumulative logsumexp, no
    (B, B) matrix of differences (saved for the backward, it would grow with the square of the batch)."""
    labels, order = labels.sort()
    scores = scores[order]
    above = torch.searchsorted(labels, labels, right=True)  # the first pair labelled strictly higher
    suffix = torch.logcumsumexp(-scores.flip(0), dim=0).flip(0)  # log sum of exp(-s_i), i >= k
    suffix = torch.cat([suffix, scores.new_full((1,), -torch.inf)])  # nothing above the highest label
    # a leading 0 is the "1 +" inside the log
    return torch.logsumexp(torch.cat([scores.new_zeros(1), scores + suffix[above]]), dim=0)
