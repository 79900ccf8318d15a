"""ListMLELoss and PListMLELoss: the likelihood of a query's documents coming out in the order of their
labels under the Plackett-Luce model of the scores (Xia et al. 2008), position-weighted in PListMLE (Lan
et al. 2014), as sentence-transformers' cross-encoder ``ListMLELoss`` and ``PListMLELoss``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from ..._errors import InputError
from ..citations import LIST_MLE, PLIST_MLE
from .base import activation_path
from .listwise import ListwiseLoss


class PListMLELambdaWeight(nn.Module):
    """The weight of each rank of a list in :class:`PListMLELoss`: ``2**(n - rank) - 1`` for a list of ``n``
    documents, so the first places count most (both terms divided by ``2**(n - 127)`` for lists over 127
    documents, which keeps them finite). Padding weighs 0.

    Args:
        rank_discount_fn: a function of the ``(B, N)`` boolean mask of real documents returning ``(B, N)``
            weights, used instead of the default.
    """

    def __init__(self, rank_discount_fn: Callable[[torch.Tensor], torch.Tensor] | None = None) -> None:
        super().__init__()
        self.rank_discount_fn = rank_discount_fn

    def forward(self, mask: torch.Tensor) -> torch.Tensor:
        if self.rank_discount_fn is not None:
            return self.rank_discount_fn(mask)
        lengths = mask.sum(dim=1, keepdim=True)  # (B, 1)
        ranks = torch.arange(1, mask.shape[1] + 1, device=mask.device).expand_as(mask)  # (B, N)
        shift = (lengths - 127).clamp_min(0)  # long lists: scale down to stay in float range
        return (torch.pow(2.0, lengths - ranks - shift) - torch.pow(2.0, -shift)) * mask


class PListMLELoss(ListwiseLoss):
    """Position-aware ListMLE: per query, minus the log-likelihood that the Plackett-Luce model of the scores
    draws the documents in the order of their labels (best first), each place's term weighted by
    ``lambda_weight`` (normalised to sum to 1 per query), so mistakes at the top cost most; averaged over
    the queries. With ``lambda_weight=None`` it is :class:`ListMLELoss`.

    Args:
        model: the :class:`sbert.CrossEncoder` to train (one output label).
        lambda_weight: a :class:`PListMLELambdaWeight` (default; also by class name), or ``None`` for
            every place weighing the same.
        activation_fn: applied to the logits first (default Identity).
        mini_batch_size: (query, document) pairs per forward call (default: the batch size; ``<= 0``: all
            pairs at once).
        respect_input_order: True (default): the documents are already listed best first and the labels
            are not read for the order; False: they are sorted by label (descending) first.

    Inputs:

        +----------------------------------------+--------------------------------+
        | Texts                                  | Labels                         |
        +========================================+================================+
        | (query, [doc_1, ..., doc_n])           | [score_1, ..., score_n]        |
        +----------------------------------------+--------------------------------+

    Lists may differ in length. With ``respect_input_order=True`` list each query's documents best first.

    Example::

        from sbert import CrossEncoder, load_dataset
        from sbert.cross_encoder import CrossEncoderTrainer, CrossEncoderTrainingArguments
        from sbert.cross_encoder.losses import PListMLELoss

        model = CrossEncoder("path/to/encoder", num_labels=1)
        train = load_dataset([{"query": "what is a cat?", "docs": ["A cat is a feline.", "Paris."],
                               "labels": [1, 0]}], label="labels")
        args = CrossEncoderTrainingArguments(output_dir="out")
        CrossEncoderTrainer(model, train, PListMLELoss(model), args=args).train()
    """

    citation = PLIST_MLE

    eps = 1e-10  # keeps the weights' normalisation finite

    def __init__(
        self,
        model: Any,
        lambda_weight: PListMLELambdaWeight | str | None = "PListMLELambdaWeight",
        activation_fn: Any = None,
        mini_batch_size: int | None = None,
        respect_input_order: bool = True,
    ) -> None:
        super().__init__(model, activation_fn, mini_batch_size)
        if isinstance(lambda_weight, str):  # a class name (configs and the default)
            if lambda_weight.rsplit(".", 1)[-1] != "PListMLELambdaWeight":
                raise InputError(
                    f"lambda_weight must be a PListMLELambdaWeight, its name or None, got {lambda_weight!r}."
                )
            lambda_weight = PListMLELambdaWeight()
        self.lambda_weight = lambda_weight
        self.respect_input_order = respect_input_order

    def ranking_loss(self, scores: torch.Tensor, relevance: torch.Tensor) -> torch.Tensor:
        mask = torch.isfinite(relevance)  # (B, N): real documents, not padding
        if self.respect_input_order:
            sorted_scores, sorted_mask = scores, mask
        else:  # best label first; padding (-inf) stays last
            _, order = relevance.sort(descending=True, dim=1)
            sorted_scores, sorted_mask = scores.gather(1, order), mask.gather(1, order)
        floor = torch.finfo(sorted_scores.dtype).min
        masked = sorted_scores.masked_fill(~sorted_mask, floor)
        # log of the sum of exp(score) over each place and the places after it
        normalizers = torch.flip(torch.logcumsumexp(torch.flip(masked, [1]), dim=1), [1])
        log_probs = sorted_scores - normalizers  # (B, N)
        if self.lambda_weight is not None:
            weights = self.lambda_weight(mask)
            log_probs = log_probs * (weights / (weights.sum(dim=1, keepdim=True) + self.eps))
        per_query = -log_probs.masked_fill(~sorted_mask, 0.0).sum(dim=1)  # (B,)
        if not torch.any(per_query):  # as sentence-transformers: a zero with no graph
            return torch.tensor(0.0, device=scores.device, requires_grad=True)
        return per_query.mean()

    def config(self) -> dict[str, Any]:
        weight = None if self.lambda_weight is None else activation_path(self.lambda_weight)
        return {"lambda_weight": weight, **super().config(), "respect_input_order": self.respect_input_order}


class ListMLELoss(PListMLELoss):
    """ListMLE: minus the log-likelihood, under the Plackett-Luce model of the scores, of each query's
    documents coming out in the order of their labels, averaged over the queries (:class:`PListMLELoss`
    with every place weighing the same).

    Args:
        model: the :class:`sbert.CrossEncoder` to train (one output label).
        activation_fn: applied to the logits first (default Identity).
        mini_batch_size: (query, document) pairs per forward call (default: the batch size; ``<= 0``: all
            pairs at once).
        respect_input_order: True (default): the documents are already listed best first; False: they are
            sorted by label (descending) first.

    Inputs:

        +----------------------------------------+--------------------------------+
        | Texts                                  | Labels                         |
        +========================================+================================+
        | (query, [doc_1, ..., doc_n])           | [score_1, ..., score_n]        |
        +----------------------------------------+--------------------------------+

    Example::

        from sbert import CrossEncoder, load_dataset
        from sbert.cross_encoder import CrossEncoderTrainer, CrossEncoderTrainingArguments
        from sbert.cross_encoder.losses import ListMLELoss

        model = CrossEncoder("path/to/encoder", num_labels=1)
        train = load_dataset([{"query": "what is a cat?", "docs": ["A cat is a feline.", "Paris."],
                               "labels": [1, 0]}], label="labels")
        args = CrossEncoderTrainingArguments(output_dir="out")
        CrossEncoderTrainer(model, train, ListMLELoss(model, respect_input_order=False), args=args).train()
    """

    citation = LIST_MLE

    def __init__(
        self,
        model: Any,
        activation_fn: Any = None,
        mini_batch_size: int | None = None,
        respect_input_order: bool = True,
    ) -> None:
        super().__init__(model, None, activation_fn, mini_batch_size, respect_input_order)

    def config(self) -> dict[str, Any]:
        config = super().config()
        del config["lambda_weight"]  # always none
        return config
