"""MatryoshkaLoss: train embeddings that still work when truncated to their first dimensions."""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from .._errors import InputError
from .base import Loss, embed_columns
from .cached_mixin import resolve_gradient_cache_loss
from .citations import MATRYOSHKA
from .grad_cache import CachedLoss, weighted_cached_step
from .user_loss import WrapsLoss, embeds_itself, model_forward
from .wrapped_model import unwrap_model


def shrink(embeddings: torch.Tensor, dim: int) -> torch.Tensor:
    """The first ``dim`` dimensions of ``(B, D)`` embeddings, scaled back to unit length.

    Half-precision rows are normalized in float32 (as sentence-transformers does): their squared norm
    overflows float16 for large values and underflows for tiny ones."""
    truncated = embeddings[..., :dim]
    if truncated.dtype in (torch.float16, torch.bfloat16):
        return nn.functional.normalize(truncated.float(), p=2, dim=-1).to(truncated.dtype)
    return nn.functional.normalize(truncated, p=2, dim=-1)


logger = logging.getLogger(__name__)


def check_dims(dims: list[int], full: int | None) -> None:
    """Refuse sizes no model can be cut to (sentence-transformers' messages), and warn, as it does, when the
    model's full size is not among them: the untruncated embeddings would then not be trained."""
    if not dims:
        raise InputError("You must provide at least one dimension in matryoshka_dims.")
    if any(not isinstance(d, int) or d <= 0 for d in dims):
        raise InputError(f"All dimensions passed to a matryoshka loss must be > 0. Got {dims!r}.")
    if full is None:
        return
    if any(d > full for d in dims):
        raise InputError(
            f"Dimensions in matryoshka_dims cannot exceed the model's embedding dimension of {full}."
        )
    if full not in dims:
        logger.warning(
            f"The model's embedding dimension {full} is not included in matryoshka_dims: {dims}. "
            "This means that the full model dimension won't be trained, which may lead to degraded "
            "performance when using the model without specifying a lower truncation dimension. It is "
            f"strongly recommended to include {full} in matryoshka_dims."
        )


class MatryoshkaLoss(WrapsLoss, Loss):
    """A wrapper: the inner loss summed (with weights) over embeddings truncated to several sizes.

    Matryoshka Representation Learning (https://arxiv.org/abs/2205.13147): after training, the first 256,
    128 or 64 dimensions of an embedding are a good embedding on their own, so storage and search can use
    fewer dimensions. The model runs once per batch; each size reuses its output, truncated and
    re-normalized.

    Args:
        model: the :class:`sbert.SentenceTransformer` to train.
        loss: the inner loss, e.g. :class:`MultipleNegativesRankingLoss` or :class:`CoSENTLoss`, or a loss
            of your own (an ``nn.Module`` whose ``forward(sentence_features, labels)`` calls
            ``model(features)``: there ``model(features)["sentence_embedding"]`` is truncated to each size
            in turn, the model running once a step, as in sentence-transformers). A
            :class:`SoftmaxLoss` takes only the size its classifier was built for (an :class:`InputError`
            says so for any other; sentence-transformers fails there with a shape error).
        matryoshka_dims: sizes to train, e.g. ``[384, 256, 128, 64]``; should include the full size.
        matryoshka_weights: one weight per size (default all 1).
        n_dims_per_step: sizes trained each step, picked at random (default -1: all of them).

    Requirements:
        Whatever the inner loss takes.

    Inputs:

        +----------------------------+-------------------------+
        | Texts                      | Labels                  |
        +============================+=========================+
        | as the inner loss          | as the inner loss       |
        +----------------------------+-------------------------+

    Example::

        from sbert import (CoSENTLoss, MatryoshkaLoss, SentenceTransformer, Trainer, TrainingArguments,
                           load_dataset)

        model = SentenceTransformer()
        train = load_dataset("stsb/train.tsv", columns=["sentence1", "sentence2"], label="score")
        loss = MatryoshkaLoss(model, CoSENTLoss(model), matryoshka_dims=[384, 256, 128, 64])
        Trainer(model, train, loss, args=TrainingArguments(output_dir="out")).train()
    """

    citation = MATRYOSHKA

    wraps_loss = True

    def __init__(
        self,
        model: Any,
        loss: Loss,
        matryoshka_dims: Sequence[int],
        matryoshka_weights: Sequence[float] | None = None,
        n_dims_per_step: int = -1,
    ) -> None:
        super().__init__(model)
        self.loss = loss  # as given, a user's nn.Module loss too; sbert runs self.inner
        inner = self.inner
        if not isinstance(inner, Loss):
            raise InputError(
                f"MatryoshkaLoss wraps an sbert loss or a torch.nn.Module loss, got {type(loss).__name__}."
            )
        dims = list(matryoshka_dims)
        check_dims(dims, getattr(model, "full_embedding_dimension", None))
        weights = [1] * len(dims) if matryoshka_weights is None else list(matryoshka_weights)
        if len(weights) != len(dims):
            raise InputError("matryoshka_weights must be the same length as matryoshka_dims.")
        if isinstance(n_dims_per_step, bool) or not isinstance(n_dims_per_step, int):
            raise InputError(f"n_dims_per_step must be an int (-1: every size), got {n_dims_per_step!r}.")
        inner.check_truncation(dims)
        order = sorted(range(len(dims)), key=lambda i: -dims[i])
        self.uses_gradient_cache = getattr(inner, "uses_gradient_cache", False)  # as the loss it wraps
        self.matryoshka_dims = tuple(dims[i] for i in order)
        self.matryoshka_weights = tuple(weights[i] for i in order)
        self.n_dims_per_step = n_dims_per_step
        self.min_columns, self.max_columns, self.label_kind = (
            inner.min_columns,
            inner.max_columns,
            inner.label_kind,
        )
        self.collective = inner.collective

    def forward(self, sentence_features: Any, labels: torch.Tensor | None) -> torch.Tensor:
        if isinstance(self.loss, CachedLoss):
            return self._cached(sentence_features, labels)
        target = resolve_gradient_cache_loss(self.loss)
        if self.uses_gradient_cache and hasattr(target, "calculate_loss"):  # a user's CachedLossMixin loss
            with model_forward(target, self._truncating, "calculate_loss"):
                return self.loss(sentence_features, labels)
        sentence_features = list(sentence_features)
        if embeds_itself(self.loss):
            return self._through_model(sentence_features, labels)
        if self.guide_reader is not None:  # GIST: its guide reads the texts at its own full size
            guide = self.guide_reader.each_call(sentence_features)
            return self.guided_loss(embed_columns(self.model, sentence_features), guide)
        return self.compute_loss_from_embeddings(embed_columns(self.model, sentence_features), labels)

    @property
    def guide_reader(self) -> Any:
        """The inner GIST loss's guide reader, or None (AdaptiveLayerLoss feeds :meth:`guided_loss` too)."""
        return getattr(self.loss, "guide_reader", None) if hasattr(self.loss, "guided_loss") else None

    def guided_loss(self, embeddings: list[torch.Tensor], guide: Any) -> torch.Tensor:
        """The inner GIST loss summed over the sizes, the guide's embeddings (``gist.GuideCalls``, one call a
        size) at their own full size."""
        return sum(
            weight * self.loss.guided_loss([shrink(e, dim) for e in embeddings], guide)
            for dim, weight in self.sizes()
        )

    def sizes(self, *, ordered: bool = True) -> list[tuple[int, float]]:
        """This step's (size, weight) pairs, largest first: all of them, or ``n_dims_per_step`` at random
        (in the order drawn, unless ``ordered``)."""
        indices: Sequence[int] = range(len(self.matryoshka_dims))
        if 0 < self.n_dims_per_step < len(indices):
            indices = random.sample(indices, self.n_dims_per_step)
            indices = sorted(indices) if ordered else indices
        return [(self.matryoshka_dims[i], self.matryoshka_weights[i]) for i in indices]

    def _truncating(self, calculate: Any) -> Any:
        """A ``CachedLossMixin`` loss's ``calculate_loss`` summed over the sizes on its cached embeddings
        truncated (as sentence-transformers decorates it): its backward hook runs after this forward, so
        the model's output cannot be truncated instead."""

        def truncated(reps: list[list[torch.Tensor]], *args: Any, **kwargs: Any) -> torch.Tensor:
            total = 0.0
            for dim, weight in self.sizes(ordered=False):
                shrunk = [[shrink(r, dim) for r in column] for column in reps]
                total = total + weighted_cached_step(calculate, shrunk, weight, *args, **kwargs)
            return total

        return truncated

    def compute_loss_from_embeddings(
        self, embeddings: list[torch.Tensor], labels: torch.Tensor | None
    ) -> torch.Tensor:
        total = 0.0
        for dim, weight in self.sizes():
            dim_labels = _truncated_labels(labels, dim, embeddings[0].shape[-1])
            total = total + weight * self.loss.compute_loss_from_embeddings(
                [shrink(e, dim) for e in embeddings], dim_labels
            )
        return total

    def _through_model(self, sentence_features: list[Any], labels: torch.Tensor | None) -> torch.Tensor:
        """An inner loss that runs the model itself (a user's): ``model(features)`` gives it the embeddings
        truncated to each size in turn, the model run once (on the first size's calls)."""
        model = unwrap_model(self.model, type(self).__name__)  # the trainer may hand the losses a wrapper
        full = model.full_embedding_dimension
        total = 0.0
        with model_forward(model, TruncatedOutputs) as outputs:
            for dim, weight in self.sizes():
                outputs.dim, outputs.calls = dim, 0
                total = total + weight * self.loss(sentence_features, _truncated_labels(labels, dim, full))
                outputs.cached = True
        return total

    def _cached(self, sentence_features: Any, labels: torch.Tensor | None) -> torch.Tensor:
        """The cached inner loss, still cached: its loss terms summed over the sizes, on the cached
        embeddings truncated, so that the memory stays that of one mini-batch."""
        inner = self.loss
        terms = inner.loss_terms
        sizes = self.sizes()

        def truncated_terms(embeddings: list[torch.Tensor], guide: Any, labels: Any) -> Any:
            for dim, weight in sizes:
                dim_labels = _truncated_labels(labels, dim, embeddings[0].shape[-1])
                for term in terms([shrink(e, dim) for e in embeddings], guide, dim_labels):
                    yield weight * term

        # the inner loss calls loss_terms once, inside its forward (its backward replays cached gradients)
        inner.loss_terms = truncated_terms
        try:
            return inner(sentence_features, labels)
        finally:
            del inner.loss_terms

    def check_data(self, n_columns: int, labels: Any, where: str) -> None:
        self.inner.check_data(n_columns, labels, where)

    def check_labels(self, labels: np.ndarray, where: str) -> None:
        self.inner.check_labels(labels, where)

    def config(self) -> dict[str, Any]:
        return {
            "loss": type(self.loss).__name__,
            "matryoshka_dims": self.matryoshka_dims,
            "matryoshka_weights": self.matryoshka_weights,
            "n_dims_per_step": self.n_dims_per_step,
        }


class TruncatedOutputs:
    """The model's forward whose ``sentence_embedding`` is cut to ``dim`` (and re-normalized). Its outputs
    are kept in the order of the calls; once ``cached``, the n-th call gives the n-th output again, cut
    to the new (smaller) ``dim``, without running the model."""

    def __init__(self, forward: Any) -> None:
        self.forward, self.outputs = forward, []
        self.dim, self.calls, self.cached = 0, 0, False

    def __call__(self, features: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        if self.cached and self.calls < len(self.outputs):
            output = self.outputs[self.calls]
        else:
            output = self.forward(features, *args, **kwargs)
            self.outputs.append(output)
        # kept cut: the next, smaller size is cut from this one (the same numbers as sentence-transformers')
        output = {**output, "sentence_embedding": shrink(output["sentence_embedding"], self.dim)}
        self.outputs[self.calls] = output
        self.calls += 1
        return output


def _truncated_labels(labels: Any, dim: int, full: int) -> Any:
    """Labels holding teacher embeddings (distillation) truncated to ``dim`` as well; others as they are."""
    if isinstance(labels, torch.Tensor) and labels.dim() in (2, 3) and labels.shape[-1] == full:
        return labels[..., :dim]
    return labels
