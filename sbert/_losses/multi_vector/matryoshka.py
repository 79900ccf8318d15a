"""MultiVectorMatryoshkaLoss: a multi-vector loss summed over truncated token-embedding widths (Matryoshka
Representation Learning, Kusupati et al. 2022; for late interaction, Jina-ColBERT-v2)."""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import nn

from ..._errors import InputError
from ..base import Features
from ..citations import MATRYOSHKA
from ..grad_cache import weighted_cached_step
from .base import MultiVectorLoss

logger = logging.getLogger(__name__)


def shrink(tensor: torch.Tensor, dim: int) -> torch.Tensor:
    """The first ``dim`` values of each vector, L2-normalized again (in float32 for half precision)."""
    dtype = tensor.dtype
    tensor = tensor[..., :dim]
    tensor = tensor.float() if dtype in (torch.float16, torch.bfloat16) else tensor
    return nn.functional.normalize(tensor, p=2, dim=-1).to(dtype)


class _TruncatingForward:
    """The model's outputs, run once per batch at the first (widest) width and truncated to each next one:
    widths come in descending order, so truncating the previous truncation is exact."""

    def __init__(self, run: Callable[..., dict[str, Any]]) -> None:
        self.run, self.dim, self.cache, self.cache_dim, self.index = run, None, [], None, 0

    def set_dim(self, dim: int) -> None:
        self.dim, self.index = dim, 0

    def __call__(self, features: Features, task: str | None) -> dict[str, Any]:
        if self.cache_dim is None or self.cache_dim == self.dim:
            output = self.run(features, task)
            self.cache.append(output)
            self.cache_dim = self.dim
        else:
            output = self.cache[self.index]
        output["token_embeddings"] = shrink(output["token_embeddings"], self.dim)
        self.index += 1
        return output


class _TruncatingCachedLoss:
    """A cached loss's whole-batch step run at each width on the truncated leaves, their gradients pushed
    back through the truncation (times the width's weight)."""

    def __init__(self, calculate: Callable[..., torch.Tensor], owner: MultiVectorMatryoshkaLoss) -> None:
        self.calculate, self.owner = calculate, owner

    def __call__(self, reps: list[list[torch.Tensor]], *args: Any, **kwargs: Any) -> torch.Tensor:
        loss = 0.0
        for index in self.owner.dim_indices(sort=False):
            dim, weight = self.owner.matryoshka_dims[index], self.owner.matryoshka_weights[index]
            truncated = [[shrink(r, dim) for r in column] for column in reps]
            loss += weighted_cached_step(self.calculate, truncated, weight, *args, **kwargs)
        return loss


class MultiVectorMatryoshkaLoss(MultiVectorLoss):
    """Sum ``loss`` over the token widths ``matryoshka_dims`` (each truncated and re-normalized), weighted by
    ``matryoshka_weights`` (default 1 each); ``n_dims_per_step > 0`` uses that many widths per step, drawn at
    random. Cached losses (``CachedMultiVectorMultipleNegativesRankingLoss``) work too.

    Args:
        model: the :class:`sbert.MultiVectorEncoder` to train.
        loss: a multi-vector loss, e.g. :class:`MultiVectorMultipleNegativesRankingLoss`.
        matryoshka_dims: the widths, e.g. ``[128, 96, 64, 32]``.
        matryoshka_weights: a weight per width.
        n_dims_per_step: widths per step (-1: all).
    """

    wraps_loss = True

    citation = MATRYOSHKA

    def __init__(
        self,
        model: Any,
        loss: nn.Module,
        matryoshka_dims: Sequence[int],
        matryoshka_weights: Sequence[float] | None = None,
        n_dims_per_step: int = -1,
    ) -> None:
        super().__init__(model)
        if not isinstance(loss, MultiVectorLoss):
            raise InputError(
                "MultiVectorMatryoshkaLoss wraps a multi-vector loss (sbert.multi_vector_encoder.losses), "
                f"got {type(loss).__name__}."
            )
        self.loss = loss
        self.min_columns, self.max_columns, self.label_kind = (
            loss.min_columns,
            loss.max_columns,
            loss.label_kind,
        )
        dims, weights = _checked(model, matryoshka_dims, matryoshka_weights)
        pairs = sorted(zip(dims, weights), key=lambda pair: pair[0], reverse=True)
        self.matryoshka_dims, self.matryoshka_weights = (tuple(x) for x in zip(*pairs))
        self.n_dims_per_step = n_dims_per_step
        self.uses_gradient_cache = getattr(loss, "uses_gradient_cache", False)
        if self.uses_gradient_cache:  # the backward runs after forward returns: truncate inside the loss
            loss.calculate_loss = _TruncatingCachedLoss(loss.calculate_loss, self)

    def dim_indices(self, sort: bool = True) -> list[int]:
        indices = list(range(len(self.matryoshka_dims)))
        if 0 < self.n_dims_per_step < len(indices):
            indices = random.sample(indices, self.n_dims_per_step)
            if sort:
                indices.sort()
        return indices

    def forward(self, sentence_features: Sequence[Features], labels: Any = None) -> torch.Tensor:
        sentence_features = list(sentence_features)
        if self.uses_gradient_cache:
            return self.loss(sentence_features, labels)
        forward = _TruncatingForward(self.loss.run_model)
        self.loss.run_model = forward
        try:
            loss = 0.0
            for index in self.dim_indices():
                forward.set_dim(self.matryoshka_dims[index])
                loss += self.matryoshka_weights[index] * self.loss(sentence_features, labels)
        finally:
            del self.loss.run_model  # the class's method again
        return loss

    def check_labels(self, labels: Any, where: str) -> None:
        self.loss.check_labels(labels, where)

    def config(self) -> dict[str, Any]:
        return {
            "loss": type(self.loss).__name__,
            "matryoshka_dims": self.matryoshka_dims,
            "matryoshka_weights": self.matryoshka_weights,
            "n_dims_per_step": self.n_dims_per_step,
        }

    get_config_dict = config


def _checked(
    model: Any, dims: Sequence[int], weights: Sequence[float] | None
) -> tuple[list[int], list[float]]:
    if not dims:
        raise InputError("You must provide at least one dimension in matryoshka_dims.")
    if any(dim <= 0 for dim in dims):
        raise InputError("All dimensions passed to a matryoshka loss must be > 0.")
    if weights is None:
        weights = [1] * len(dims)
    elif len(weights) != len(dims):
        raise InputError("matryoshka_weights must be the same length as matryoshka_dims.")
    # the untruncated width (truncate_dim leaves training the full vectors), as sentence-transformers
    width = getattr(model, "full_embedding_dimension", None)
    if width is not None and any(d > width for d in dims):
        raise InputError(
            f"Dimensions in matryoshka_dims cannot exceed the model's embedding dimension of {width}."
        )
    if width is not None and width not in dims:
        logger.warning(
            f"The model's embedding dimension {width} is not included in matryoshka_dims: {list(dims)}; the "
            "full "
            "width is then not trained. Include it in matryoshka_dims."
        )
    return list(dims), list(weights)
