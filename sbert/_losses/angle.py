"""AnglELoss: CoSENT's ranking of pairs, on the angle similarity instead of the cosine."""

from __future__ import annotations

from typing import Any

import torch

from .._errors import InputError
from .._similarity import pairwise_angle_sim
from .base import Loss, check_label_count
from .citations import ANGLE
from .cosent import ranking_loss


class AnglELoss(Loss):
    """``log(1 + sum exp(scale * (s_kl - s_ij)))`` over all pairs ``(i, j)`` scored above ``(k, l)``, with
    ``s`` the angle similarity (AnglE, Li and Li 2024, https://arxiv.org/abs/2309.12871).

    :class:`CoSENTLoss` with a similarity whose gradient does not vanish where the cosine saturates (near
    1 and -1), which helps on STS-like data. With (anchor, positive, negative...) rows and no labels, each
    (anchor, positive) pair should score above each (anchor, negative) pair.

    Args:
        model: the :class:`sbert.SentenceTransformer` to train.
        scale: inverse temperature applied to the similarities (default 20).

    Requirements:
        Pairs of texts with a float score (only their order within a batch matters), or (anchor, positive,
        negative_1, ..., negative_n) rows, without labels (or with the positive's score in ``[0, 1]``,
        the negatives taking ``1 - score``).

    Inputs:

        +-------------------------------------------------+------------------------------+
        | Texts                                           | Labels                       |
        +=================================================+==============================+
        | (sentence_A, sentence_B)                        | float score, on any scale    |
        +-------------------------------------------------+------------------------------+
        | (anchor, positive, negative_1, ..., negative_n) | none                         |
        +-------------------------------------------------+------------------------------+

    Example::

        from sbert import AnglELoss, SentenceTransformer, Trainer, TrainingArguments, load_dataset

        model = SentenceTransformer()
        train = load_dataset("stsb/train.tsv", columns=["sentence1", "sentence2"], label="score")
        Trainer(model, train, AnglELoss(model), args=TrainingArguments(output_dir="out")).train()
    """

    citation = ANGLE

    max_columns = None
    label_kind = "score"

    def __init__(self, model: Any, scale: float = 20.0) -> None:
        super().__init__(model)
        if not scale > 0:
            raise InputError(f"AnglELoss: scale must be positive (e.g. 20), got {scale!r}.")
        self.scale = scale
        self.similarity_fct = pairwise_angle_sim  # read by code written for sentence-transformers

    def compute_loss_from_embeddings(
        self, embeddings: list[torch.Tensor], labels: torch.Tensor | None
    ) -> torch.Tensor:
        anchors = embeddings[0]
        if labels is None and len(embeddings) == 2:
            raise InputError("AnglELoss needs a score per pair, or (anchor, positive, negative) rows.")
        if labels is None:
            labels = torch.ones(anchors.shape[0], device=anchors.device)
        check_label_count(type(self).__name__, labels, anchors.shape[0])
        labels = labels.view(-1).float().to(anchors.device)
        if len(embeddings) > 2:  # (anchor, positive) pairs first, then every (anchor, negative) pair
            negatives = len(embeddings) - 2
            labels = torch.cat([labels, (1 - labels).repeat(negatives)])
            embeddings = [anchors.repeat(negatives + 1, 1), torch.cat(embeddings[1:])]
        scores = pairwise_angle_sim(*embeddings) * self.scale  # (N,)
        return ranking_loss(scores, labels)  # CoSENT's, on angle scores

    def check_data(self, n_columns: int, labels: Any, where: str) -> None:
        if labels is None and n_columns == 2:
            raise InputError(
                f"{where}: AnglELoss needs a score label for each pair, the data has none; or give "
                "(anchor, positive, negative) rows, which need no labels."
            )
        if labels is None and n_columns > 2:
            return
        super().check_data(n_columns, labels, where)

    def config(self) -> dict[str, Any]:
        return {"scale": self.scale, "similarity_fct": "pairwise_angle_sim"}
