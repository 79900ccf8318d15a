"""MultiVectorTokenPoolingLoss: sentence-transformers 6.3's loss that trains a multi-vector model to keep its
quality under token pooling ("Learn to Pool"), the weighted sum of a wrapped loss over pooling variants.

The wrapped loss calls the model once per text column (``model(features, task=...)``); this loss runs the
model's forward for the first variant, keeps each call's output, and for every variant hands the wrapped
loss those outputs pooled by that variant (``None``: unpooled). The encoder runs once a step, whatever the
number of variants; the pooled means carry the gradient back (HierarchicalTokenPooling's straight-through
estimate).

A loss with a gradient cache (``Cached...``, also inside a MultiVectorMatryoshkaLoss) embeds in mini-batches
and back-propagates after the forward has returned: there the variants pool its cached token embeddings,
inside its whole-batch step (``calculate_loss``), as sentence-transformers does; the poolings must then have
no trainable parameters.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from typing import Any

from torch import Tensor, nn

from ..._errors import InputError
from ..._multi_vector.token_pooling import BaseTokenPooling
from ..citations import LEARN_TO_POOL
from ..grad_cache import weighted_cached_step
from .base import Chunks


class MultiVectorTokenPoolingLoss(nn.Module):
    """The weighted sum of ``loss`` over ``token_poolings`` (see the module docstring).

    Args:
        model: the :class:`sbert.MultiVectorEncoder` being trained (best without a pooling module in its
            pipeline: the variants would pool on top of it).
        loss: the multi-vector loss to wrap, e.g. a MaxSim multiple-negatives ranking loss.
        token_poolings: one pooling per variant; ``None`` trains unpooled retrieval too.
        weights: each variant's weight (default 1 each).
        n_poolings_per_step: sample this many variants a step (default -1: all).

    Example::

        variants = [None, HierarchicalTokenPooling(pool_factor=2), HierarchicalTokenPooling(pool_factor=4)]
        loss = MultiVectorTokenPoolingLoss(model, inner_loss, variants)
    """

    def __init__(
        self,
        model: Any,
        loss: nn.Module,
        token_poolings: Sequence[BaseTokenPooling | None],
        *,
        weights: Sequence[float] | None = None,
        n_poolings_per_step: int = -1,
    ) -> None:
        super().__init__()
        if not token_poolings:
            raise InputError("token_poolings needs at least one pooling (None for the unpooled variant).")
        bad = [
            type(p).__name__ for p in token_poolings if p is not None and not isinstance(p, BaseTokenPooling)
        ]
        if bad:
            raise InputError(f"token_poolings holds BaseTokenPooling modules or None, got {bad}.")
        if weights is not None and len(weights) != len(token_poolings):
            raise InputError(f"weights needs one weight per pooling variant ({len(token_poolings)}).")
        self.model = model
        self.loss = loss
        self.token_poolings = nn.ModuleList(token_poolings)
        self.weights = tuple(weights) if weights is not None else (1,) * len(token_poolings)
        self.n_poolings_per_step = n_poolings_per_step
        self.uses_gradient_cache = getattr(loss, "uses_gradient_cache", False)
        self.cached_step: _PoolingCachedStep | None = None
        if self.uses_gradient_cache:
            if any(parameter.requires_grad for parameter in self.token_poolings.parameters()):
                raise InputError(
                    "Cached losses do not support token_poolings with trainable parameters. Freeze the "
                    "pooler with pooling.requires_grad_(False), or use a non-cached loss."
                )
            cached = loss
            while not hasattr(cached, "calculate_loss") and hasattr(cached, "loss"):  # e.g. a Matryoshka
                cached = cached.loss
            self.cached_step = _PoolingCachedStep(cached.calculate_loss, self)
            cached.calculate_loss = self.cached_step

    def variant_indices(self, sort: bool = True) -> list[int]:
        """The variants of this step: all, or ``n_poolings_per_step`` drawn at random."""
        indices = list(range(len(self.token_poolings)))
        if 0 < self.n_poolings_per_step < len(indices):
            indices = random.sample(indices, self.n_poolings_per_step)
            if sort:
                indices.sort()
        return indices

    def forward(self, sentence_features: Iterable[dict[str, Tensor]], labels: Tensor | None = None) -> Tensor:
        sentence_features = list(sentence_features)
        if self.cached_step is not None:
            self.cached_step.tasks = [
                features.get("task", "query" if index == 0 else "document")
                for index, features in enumerate(sentence_features)
            ]
            return self.loss(sentence_features, labels)
        chosen = self.variant_indices()
        shared = _SharedForward(self.model.forward)
        patched = "forward" in vars(self.model)
        self.model.forward = shared
        try:
            total = 0.0
            for index in chosen:
                shared.start_variant(self.token_poolings[index])
                total = total + self.weights[index] * self.loss(sentence_features, labels)
        finally:
            if patched:
                self.model.forward = shared.forward
            else:
                del self.model.forward
        return total

    def get_config_dict(self) -> dict[str, Any]:
        return {
            "loss": type(self.loss).__name__,
            "token_poolings": [_variant_name(pooling) for pooling in self.token_poolings],
            "weights": self.weights,
            "n_poolings_per_step": self.n_poolings_per_step,
        }

    citation = LEARN_TO_POOL


class _SharedForward:
    """The model's forward for the first variant, its outputs replayed (call by call) for the others, each
    pooled by the current variant."""

    def __init__(self, forward: Any) -> None:
        self.forward = forward
        self.outputs: list[tuple[dict[str, Tensor], str | None]] = []
        self.pooling: BaseTokenPooling | None = None
        self.first = True
        self.calls = 0

    def start_variant(self, pooling: BaseTokenPooling | None) -> None:
        self.first = not self.outputs  # the first variant runs the model
        self.pooling, self.calls = pooling, 0

    def __call__(
        self, features: dict[str, Tensor], task: str | None = None, **kwargs: Any
    ) -> dict[str, Tensor]:
        if self.first:
            self.outputs.append((self.forward(features, task=task, **kwargs), task))
        output, task = self.outputs[self.calls]
        self.calls += 1
        output = dict(output)  # pooling rewrites the dict: keep the recorded one
        return self.pooling(output, task=task) if self.pooling is not None else output


class _PoolingCachedStep:
    """A cached loss's whole-batch step run on each variant's pooling of its cached token embeddings (each
    column by its task), the gradients pushed back through the pooling (times the variant's weight)."""

    def __init__(self, calculate: Any, owner: MultiVectorTokenPoolingLoss) -> None:
        self.calculate, self.owner = calculate, owner
        self.tasks: list[str | None] | None = None

    def __call__(self, reps: Chunks, masks: Chunks, *args: Any, **kwargs: Any) -> Tensor:
        tasks = self.tasks or ["query"] + ["document"] * (len(reps) - 1)
        loss = 0.0
        for index in self.owner.variant_indices(sort=False):
            pooling, weight = self.owner.token_poolings[index], self.owner.weights[index]
            pooled = [
                [_pool_chunk(pooling, rep, mask, task) for rep, mask in zip(rep_column, mask_column)]
                for task, rep_column, mask_column in zip(tasks, reps, masks)
            ]
            pooled_reps = [[rep for rep, _ in column] for column in pooled]
            pooled_masks = [[mask for _, mask in column] for column in pooled]
            loss += weighted_cached_step(self.calculate, pooled_reps, weight, pooled_masks, *args, **kwargs)
        return loss


def _pool_chunk(
    pooling: BaseTokenPooling | None, rep: Tensor, mask: Tensor, task: str | None
) -> tuple[Tensor, Tensor]:
    features = {"token_embeddings": rep, "attention_mask": mask}
    if pooling is not None:
        features = pooling(features, task=task)
    return features["token_embeddings"], features["attention_mask"].bool()


def _variant_name(pooling: nn.Module | None) -> str | None:
    """A variant as the config and the card name it: the class and its settings."""
    if pooling is None:
        return None
    config = pooling.get_config_dict() if hasattr(pooling, "get_config_dict") else {}
    settings = ", ".join(f"{key}={value!r}" for key, value in config.items())
    return f"{type(pooling).__name__}({settings})" if config else type(pooling).__name__
