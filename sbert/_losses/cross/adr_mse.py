"""ADRMSELoss: approx-discounted-rank mean squared error (Rank-DistiLLM, Schlatt et al. 2025), listwise
learning to rank by regressing each document's differentiable rank onto its true rank, as
sentence-transformers' cross-encoder ``ADRMSELoss``."""

from __future__ import annotations

from typing import Any

import torch

from ..citations import ADR_MSE
from .listwise import ListwiseLoss


class ADRMSELoss(ListwiseLoss):
    """Listwise ranking loss: each document's rank among its query's documents is approximated from the
    scores, ``1 + sum_(j != i) sigmoid(alpha * (s_j - s_i))`` (ApproxRank), and regressed onto its true rank
    from the labels (tied labels share their average rank), the squared error discounted by
    ``1 / log2(1 + true rank)`` as in nDCG; averaged over the documents of the batch. Lists may differ in
    length. Good for distilling an LLM's ranking; :class:`LambdaLoss` and :class:`RankNetLoss` take the same
    data.

    Args:
        model: the :class:`sbert.CrossEncoder` to train (one output label).
        alpha: sharpness of the ApproxRank sigmoid: higher is closer to the hard rank, with weaker gradients
            for well-separated pairs (default 1).
        activation_fn: applied to the logits first (default Identity).
        mini_batch_size: (query, document) pairs per forward call (default: the batch size; ``<= 0``: all
            pairs at once).

    Inputs:

        +----------------------------------------+--------------------------------+
        | Texts                                  | Labels                         |
        +========================================+================================+
        | (query, [doc_1, ..., doc_n])           | [score_1, ..., score_n]        |
        +----------------------------------------+--------------------------------+

    Example::

        from sbert import CrossEncoder, load_dataset
        from sbert.cross_encoder import CrossEncoderTrainer, CrossEncoderTrainingArguments
        from sbert.cross_encoder.losses import ADRMSELoss

        model = CrossEncoder("path/to/encoder", num_labels=1)
        train = load_dataset([{"query": "what is a cat?", "docs": ["A cat is a feline.", "Paris.", "Cats."],
                               "labels": [3, 0, 2]}], label="labels")
        args = CrossEncoderTrainingArguments(output_dir="out")
        CrossEncoderTrainer(model, train, ADRMSELoss(model), args=args).train()
    """

    citation = ADR_MSE

    def __init__(
        self, model: Any, alpha: float = 1.0, activation_fn: Any = None, mini_batch_size: int | None = None
    ) -> None:
        super().__init__(model, activation_fn, mini_batch_size)
        self.alpha = alpha

    def approximate_ranks(self, scores: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """ApproxRank ``(B, N)`` of ``(B, N)`` scores among the real documents (``mask``); 1 is the top."""
        above = torch.sigmoid(self.alpha * (scores[:, None, :] - scores[:, :, None]))  # [b, i, j]: s_j - s_i
        above = above * mask[:, None, :].float()
        return 1.0 + above.sum(dim=2) - 0.5 * mask.float()  # less each document's own sigmoid(0)

    def ranking_loss(self, scores: torch.Tensor, relevance: torch.Tensor) -> torch.Tensor:
        mask = torch.isfinite(relevance)  # (B, N): real documents, not padding
        labels = relevance.masked_fill(~mask, 0.0)
        others = mask[:, None, :]  # [b, i, j]: j is a real document
        greater = ((labels[:, None, :] > labels[:, :, None]) & others).sum(dim=-1).float()
        equal = ((labels[:, None, :] == labels[:, :, None]) & others).sum(dim=-1).float()
        true_ranks = greater + (equal + 1.0) / 2.0  # ties share their average rank
        errors = (true_ranks - self.approximate_ranks(scores, mask)) ** 2 / torch.log2(true_ranks + 1.0)
        return (errors * mask.float()).sum() / mask.sum()

    def config(self) -> dict[str, Any]:
        return {"alpha": self.alpha, **super().config()}
