"""LambdaLoss: listwise learning to rank of a query's documents, with the LambdaLoss framework's weighting
schemes (Wang et al. 2018), as sentence-transformers' cross-encoder ``LambdaLoss``."""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from ..._errors import InputError
from ..citations import LAMBDA_LOSS
from .base import activation_path
from .listwise import ListwiseLoss

REDUCTIONS = ("natural", "binary")


class BaseWeightingScheme(nn.Module):
    """Weights of the pairs of ranks ``(B, N, N)`` from the gains and discounts of the predicted order."""

    def forward(self, gain: torch.Tensor, discount: torch.Tensor, true_sorted: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError


class NoWeightingScheme(BaseWeightingScheme):
    """Every pair weighs 1 (a plain RankNet-like pairwise loss)."""

    def forward(self, gain: torch.Tensor, discount: torch.Tensor, true_sorted: torch.Tensor) -> torch.Tensor:
        return torch.tensor(1.0, device=gain.device)


class NDCGLoss1Scheme(BaseWeightingScheme):
    """NDCG Loss1: gain over discount of the document at each rank."""

    def forward(self, gain: torch.Tensor, discount: torch.Tensor, true_sorted: torch.Tensor) -> torch.Tensor:
        return (gain / discount)[:, :, None]


class NDCGLoss2Scheme(BaseWeightingScheme):
    """NDCG Loss2: the change of discount between ranks ``|i - j|`` apart, times the gain difference."""

    def forward(self, gain: torch.Tensor, discount: torch.Tensor, true_sorted: torch.Tensor) -> torch.Tensor:
        positions = torch.arange(1, gain.shape[1] + 1, device=gain.device)
        apart = torch.abs(positions[:, None] - positions[None, :])  # (N, N)
        deltas = torch.abs(
            torch.pow(torch.abs(discount[0, apart - 1]), -1.0)
            - torch.pow(torch.abs(discount[0, apart]), -1.0)
        )
        deltas.diagonal().zero_()
        return deltas[None, :, :] * torch.abs(gain[:, :, None] - gain[:, None, :])


class LambdaRankScheme(BaseWeightingScheme):
    """LambdaRank: the change of NDCG from swapping the two documents."""

    def forward(self, gain: torch.Tensor, discount: torch.Tensor, true_sorted: torch.Tensor) -> torch.Tensor:
        return torch.abs(
            torch.pow(discount[:, :, None], -1.0) - torch.pow(discount[:, None, :], -1.0)
        ) * torch.abs(gain[:, :, None] - gain[:, None, :])


class NDCGLoss2PPScheme(BaseWeightingScheme):
    """NDCG Loss2++ (the default): ``mu`` x NDCG Loss2 + LambdaRank."""

    def __init__(self, mu: float = 10.0) -> None:
        super().__init__()
        self.mu = mu
        self.ndcg_loss2 = NDCGLoss2Scheme()
        self.lambda_rank = LambdaRankScheme()

    def forward(self, gain: torch.Tensor, discount: torch.Tensor, true_sorted: torch.Tensor) -> torch.Tensor:
        ndcg = self.ndcg_loss2(gain, discount, true_sorted)
        return self.mu * ndcg + self.lambda_rank(gain, discount, true_sorted)


class LambdaLoss(ListwiseLoss):
    """Listwise ranking loss: each query with its list of documents and their graded relevance; pairs of
    documents in the wrong order are penalised by ``log(1 + exp(-sigma * (s_i - s_j)))`` weighted by the
    ``weighting_scheme`` (how much swapping them changes NDCG), as sentence-transformers' ``LambdaLoss``.

    Args:
        model: the :class:`sbert.CrossEncoder` to train (one output label).
        weighting_scheme: :class:`NDCGLoss2PPScheme` (default), :class:`NDCGLoss2Scheme`,
            :class:`LambdaRankScheme`, :class:`NDCGLoss1Scheme` or :class:`NoWeightingScheme` (``None``);
            an instance or its class name.
        k: only pairs with a document in the top ``k`` count (default: all).
        sigma: sharpness of the pairwise sigmoid.
        eps: floor of the ideal DCG.
        reduction_log: ``"binary"`` (log2, default) or ``"natural"``.
        activation_fn: applied to the logits first (default Identity).
        mini_batch_size: (query, document) pairs per forward call (default: the batch size; ``<= 0``: all
            pairs at once); lower it when a batch of lists does not fit in memory.

    Inputs:

        +----------------------------------------+--------------------------------+
        | Texts                                  | Labels                         |
        +========================================+================================+
        | (query, [doc_1, ..., doc_n])           | [score_1, ..., score_n]        |
        +----------------------------------------+--------------------------------+

    Lists may differ in length. ``sbert train cross-encoder --loss lambda`` groups a flat (query, document,
    label) file by query into this form.

    Example::

        from sbert import CrossEncoder, load_dataset
        from sbert.cross_encoder import CrossEncoderTrainer, CrossEncoderTrainingArguments
        from sbert.cross_encoder.losses import LambdaLoss

        model = CrossEncoder("path/to/encoder", num_labels=1)
        train = load_dataset([{"query": "what is a cat?", "docs": ["A cat is a feline.", "Paris."],
                               "labels": [1, 0]}], label="labels")
        args = CrossEncoderTrainingArguments(output_dir="out")
        CrossEncoderTrainer(model, train, LambdaLoss(model), args=args).train()
    """

    citation = LAMBDA_LOSS

    def __init__(
        self,
        model: Any,
        weighting_scheme: BaseWeightingScheme | str | None = "NDCGLoss2PPScheme",
        k: int | None = None,
        sigma: float = 1.0,
        eps: float = 1e-10,
        reduction_log: str = "binary",
        activation_fn: Any = None,
        mini_batch_size: int | None = None,
    ) -> None:
        super().__init__(model, activation_fn, mini_batch_size)
        if reduction_log not in REDUCTIONS:
            raise InputError(f"reduction_log must be one of {REDUCTIONS}, got {reduction_log!r}")
        if isinstance(weighting_scheme, str):  # a class name (configs and the default)
            weighting_scheme = _scheme(weighting_scheme)
        self.weighting_scheme = weighting_scheme or NoWeightingScheme()  # None: no weighting, as ST
        self.k, self.sigma, self.eps, self.reduction_log = k, sigma, eps, reduction_log

    def ranking_loss(self, scores: torch.Tensor, relevance: torch.Tensor) -> torch.Tensor:
        width = scores.shape[1]
        scores_sorted, order = scores.sort(descending=True, dim=-1)
        ideal, _ = relevance.sort(descending=True, dim=-1)
        true_sorted = torch.gather(relevance, dim=1, index=order)  # relevance in the predicted order
        true_diffs = true_sorted[:, :, None] - true_sorted[:, None, :]
        valid = torch.isfinite(true_diffs)
        if not isinstance(self.weighting_scheme, NDCGLoss1Scheme):
            valid = valid & (true_diffs > 0)
        k = self.k or width
        top_k = torch.zeros((width, width), dtype=torch.bool, device=scores.device)
        top_k[:k, :] = True  # pairs with either document in the top k (LambdaLoss paper, eq. 18)
        top_k[:, :k] = True
        true_sorted, ideal = true_sorted.clamp(min=0.0), ideal.clamp(min=0.0)
        positions = torch.arange(1, width + 1, device=scores.device)
        discount = torch.log2(1.0 + positions.float())[None, :]  # (1, N)
        max_dcg = torch.sum(((torch.pow(2, ideal) - 1) / discount)[:, :k], dim=-1).clamp(min=self.eps)
        gain = (torch.pow(2, true_sorted) - 1) / max_dcg[:, None]
        weights = self.weighting_scheme(gain, discount, true_sorted)
        diffs = (scores_sorted[:, :, None] - scores_sorted[:, None, :]).clamp(min=-1e8, max=1e8)
        diffs = diffs.masked_fill(torch.isnan(diffs), 0.0)
        losses = weights * nn.functional.logsigmoid(self.sigma * diffs)  # log directly: no underflow
        if self.reduction_log == "binary":
            losses = losses / math.log(2)
        kept = losses[valid & top_k]
        return -kept.sum() / max(kept.numel(), 1)

    def config(self) -> dict[str, Any]:
        return {
            "weighting_scheme": activation_path(self.weighting_scheme),
            "k": self.k,
            "sigma": self.sigma,
            "eps": self.eps,
            "reduction_log": self.reduction_log,
            **super().config(),
        }


def _scheme(name: str) -> BaseWeightingScheme:
    schemes = {
        cls.__name__: cls
        for cls in (NoWeightingScheme, NDCGLoss1Scheme, NDCGLoss2Scheme, LambdaRankScheme, NDCGLoss2PPScheme)
    }
    chosen = schemes.get(name.rsplit(".", 1)[-1])  # a name or a config's class path
    if chosen is None:
        raise InputError(f"Unknown weighting scheme {name!r}; choose one of {sorted(schemes)}.")
    return chosen()
