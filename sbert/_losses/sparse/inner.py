"""What the losses that run only inside :class:`~sbert._losses.sparse.splade.SpladeLoss` share: used on their
own (as a trainer's loss, or called on a batch) they refuse, naming the wrapper, as sentence-transformers'
sparse losses do."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from ..._errors import InputError, UnwrappedRegularizerError, WrappedLossError
from ..base import Features


def used_alone(loss: Any) -> InputError:
    """The error of ``loss`` used on its own: a regularizer's is a ``NotImplementedError``, another inner
    loss's an ``AttributeError``, as sentence-transformers raises each."""
    name = type(loss).__name__
    if getattr(loss, "is_regularizer", False):
        return UnwrappedRegularizerError(
            f"{name} is not intended to be used directly. Use it as a regularizer within SpladeLoss (its "
            f"default one), e.g. SpladeLoss(model, loss=..., "
            f"document_regularizer={name}(model, threshold=...))."
        )
    return WrappedLossError(
        f"{name} should not be used alone. Use it with SpladeLoss, e.g. "
        f"SpladeLoss(model, loss={name}(model), document_regularizer_weight=3e-5, "
        "query_regularizer_weight=5e-5)."
    )


class InnerLoss:
    """Mixin, first among the bases of a loss that needs a wrapper: ``forward`` and ``check_data`` (the
    trainer's check before the first step) raise; the wrapper checks the data with :meth:`check_wrapped_data`
    and computes with ``compute_loss_from_embeddings``."""

    def forward(self, sentence_features: Sequence[Features], labels: torch.Tensor | None) -> torch.Tensor:
        raise used_alone(self)

    def check_data(self, n_columns: int, labels: Any, where: str) -> None:
        raise used_alone(self)

    def check_wrapped_data(self, n_columns: int, labels: Any, where: str) -> None:
        """The checks of the loss this one refines, for the wrapper to run."""
        super().check_data(n_columns, labels, where)  # type: ignore[misc]

    def compute_loss_from_embeddings(self, embeddings: Any, *args: Any, **kwargs: Any) -> Any:
        # sentence-transformers' similarity functions take sparse tensors (an encode() output); the loss
        # this one refines computes on dense ones
        embeddings = [e.to_dense() if torch.is_tensor(e) and e.is_sparse else e for e in embeddings]
        return super().compute_loss_from_embeddings(embeddings, *args, **kwargs)  # type: ignore[misc]


class WrapsInnerLoss:
    """Mixin of a loss around an inner one held as ``self.loss`` (SpladeLoss, CSRLoss): the data and labels
    it takes are the inner loss's."""

    loss: Any

    @property
    def label_kind(self) -> str:
        return getattr(self.loss, "label_kind", "none")

    @property
    def collective(self) -> bool:
        return bool(getattr(self.loss, "collective", False))

    def check_data(self, n_columns: int, labels: Any, where: str) -> None:
        """The inner loss's checks (those of the loss it refines, for a loss that runs only inside)."""
        check = getattr(self.loss, "check_wrapped_data", None) or getattr(self.loss, "check_data", None)
        if check is not None:
            check(n_columns, labels, where)
