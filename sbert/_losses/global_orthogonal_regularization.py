"""GlobalOrthogonalRegularizationLoss: spread each column's embeddings over the space."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from .._errors import InputError
from .base import Features, Loss, embed_columns
from .citations import GLOBAL_ORTHOGONAL
from .metrics import similarity_function, similarity_name


class GlobalOrthogonalRegularizationLoss(Loss):
    """Global orthogonal regularization (GOR): unrelated texts should be close to orthogonal.

    Within each text column, over the ``B * (B - 1)`` pairs of different rows, with ``s`` their similarity
    (cosine by default) and ``D`` the embedding size, two terms (Zhang et al. 2017,
    https://arxiv.org/abs/1708.06320):

    * ``gor_mean``: ``mean(s)^2``, which pulls the mean similarity to 0;
    * ``gor_second_moment``: ``relu(mean(s^2) - 1/D)``, which stops any pairs from clustering (random unit
      vectors have ``E[s^2] = 1/D``).

    Each term is averaged (or summed, ``aggregation="sum"``, as EmbeddingGemma does) over the columns and
    weighted. It is a regularizer: train it beside a main loss, e.g. as a second objective on the same data
    (``Trainer(model, {"main": data, "gor": data}, {"main": MultipleNegativesRankingLoss(model),
    "gor": GlobalOrthogonalRegularizationLoss(model)})``), or add its terms to another loss's.

    The loss is the sum of the two terms. ``forward`` and :meth:`compute_loss_from_embeddings` return them
    apart, ``{"gor_mean": ..., "gor_second_moment": ...}`` (a term weighted 0 or None is left out), as
    sentence-transformers' do: the trainer sums them and logs each; combine them with another loss by hand.

    Args:
        model: the :class:`sbert.SentenceTransformer` to train.
        similarity_fct: similarity of two embedding matrices (default ``util.cos_sim``), or the name of one
            of ``sbert.util``'s (``"cos_sim"``, ``"dot_score"``, ...).
        mean_weight: weight of ``gor_mean`` (default 1; 0 or None leaves it out).
        second_moment_weight: weight of ``gor_second_moment`` (default 1; 0 or None leaves it out).
        aggregation: ``"mean"`` (default) or ``"sum"`` of a term over the columns.

    Requirements:
        Any number of text columns; labels, if any, are ignored.

    Inputs:

        +------------------------------+--------+
        | Texts                        | Labels |
        +==============================+========+
        | any columns                  | none   |
        +------------------------------+--------+

    Example::

        from sbert import (GlobalOrthogonalRegularizationLoss, MultipleNegativesRankingLoss,
                           SentenceTransformer, Trainer, TrainingArguments, load_dataset)

        model = SentenceTransformer()
        pairs = load_dataset("pairs.tsv", columns=["query", "answer"])
        losses = {"main": MultipleNegativesRankingLoss(model),
                  "gor": GlobalOrthogonalRegularizationLoss(model)}
        args = TrainingArguments(output_dir="out")
        Trainer(model, {"main": pairs, "gor": pairs}, losses, args=args).train()
    """

    citation = GLOBAL_ORTHOGONAL

    min_columns = 1
    max_columns = None
    loss_components = True  # forward gives its terms by name

    def __init__(
        self,
        model: Any,
        similarity_fct: Any = "cos_sim",
        mean_weight: float | None = 1.0,
        second_moment_weight: float | None = 1.0,
        aggregation: str = "mean",
    ) -> None:
        super().__init__(model)
        name = type(self).__name__
        self.similarity_fct = similarity_function(similarity_fct, name)
        if not mean_weight and not second_moment_weight:
            raise InputError(f"{name}: mean_weight and second_moment_weight are both 0; set at least one.")
        if aggregation not in ("mean", "sum"):
            raise InputError(f"{name}: aggregation must be 'mean' or 'sum', got {aggregation!r}.")
        self.mean_weight, self.second_moment_weight = mean_weight, second_moment_weight
        self.aggregation = aggregation

    def forward(
        self, sentence_features: Sequence[Features], labels: torch.Tensor | None = None
    ) -> dict[str, torch.Tensor]:
        # the terms by name, as sentence-transformers' forward gives them: the trainer sums and logs each
        return self.compute_loss_from_embeddings(embed_columns(self.model, sentence_features), labels)

    def compute_loss_from_embeddings(  # type: ignore[override]
        self, embeddings: list[torch.Tensor], labels: torch.Tensor | None = None
    ) -> dict[str, torch.Tensor]:
        means, second_moments = zip(*(self.column_terms(e) for e in embeddings))
        combine = torch.sum if self.aggregation == "sum" else torch.mean
        terms = {}
        if self.mean_weight:
            terms["gor_mean"] = self.mean_weight * combine(torch.stack(means))
        if self.second_moment_weight:
            terms["gor_second_moment"] = self.second_moment_weight * combine(torch.stack(second_moments))
        return terms

    def column_terms(self, embeddings: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The unweighted ``(mean term, second-moment term)`` of one column's ``(B, D)`` embeddings."""
        n, dim = embeddings.shape
        scores = self.similarity_fct(embeddings, embeddings)  # (B, B)
        scores = scores.masked_fill(torch.eye(n, dtype=torch.bool, device=scores.device), 0.0)
        pairs = max(n * (n - 1), 1)  # one row: both terms 0 (with a gradient), not nan
        mean = (scores.sum() / pairs).pow(2)
        second_moment = torch.relu(scores.pow(2).sum() / pairs - 1.0 / dim)
        return mean, second_moment

    # sentence-transformers' name for the per-column terms
    compute_gor = column_terms

    def check_truncation(self, dims: Sequence[int]) -> None:
        raise InputError(
            "GlobalOrthogonalRegularizationLoss cannot be wrapped in MatryoshkaLoss (it returns its terms "
            "apart); train it as an objective of its own beside the wrapped main loss."
        )

    def config(self) -> dict[str, Any]:
        return {
            "similarity_fct": similarity_name(self.similarity_fct),
            "mean_weight": self.mean_weight,
            "second_moment_weight": self.second_moment_weight,
            "aggregation": self.aggregation,
        }
