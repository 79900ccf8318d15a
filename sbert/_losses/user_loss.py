"""A loss the user wrote, as sentence-transformers' documentation teaches: a ``torch.nn.Module`` whose
``forward(sentence_features, labels)`` returns a scalar tensor (a cross-encoder's gets the text columns).

sbert's trainers take sbert losses, which also say which data they fit (:meth:`Loss.check_data`). A user's
loss says nothing of that, so :func:`as_loss` wraps it in :class:`UserLoss`, which takes any columns and
labels and leaves the checking to the loss itself, as sentence-transformers' trainer does.

A loss that wraps another (MatryoshkaLoss, AdaptiveLayerLoss: :class:`WrapsLoss`) holds it as given, its
``.loss`` the user's module itself as in sentence-transformers (so its children, ``state_dict`` keys, repr
and model card are those there), and runs it through its adapter, :attr:`WrapsLoss.inner`. Such a loss runs
the model itself, so the wrapper cannot hand it embeddings: it shapes what ``model(features)`` returns
instead, for the length of its call (:func:`model_forward`), as sentence-transformers' wrappers decorate the
model's ``forward``.
"""

from __future__ import annotations

import contextlib
import inspect
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

import torch
from torch import nn

from .base import Loss

logger = logging.getLogger(__name__)


class UserLoss(Loss):
    """A user's ``nn.Module`` loss run by sbert's trainer: called with the same arguments as under
    sentence-transformers' trainer, its parameters trained, its class named in the model card."""

    min_columns = 1
    max_columns = None

    def __init__(self, model: Any, loss: nn.Module) -> None:
        super().__init__(model)
        self.loss = loss
        # a cross-encoder's loss gets the columns' texts, as sentence-transformers' cross-encoder trainer
        # hands them to its losses (the loss tokenizes the pairs itself)
        self.takes_texts = hasattr(model, "num_labels") and not hasattr(model, "encode")
        self.warned = False  # that the loss takes no prompt (once per loss)

    def forward(
        self, sentence_features: Sequence[Any], labels: torch.Tensor | None, **keywords: Any
    ) -> torch.Tensor:
        """The user's loss; a cross-encoder batch's ``prompt`` and ``task`` as its keywords where its
        ``forward`` takes them, else left out with a warning, as sentence-transformers' trainer does."""
        if not keywords:
            return self.loss(sentence_features, labels)
        if takes_keywords(self.loss.forward, keywords):
            return self.loss(sentence_features, labels, **keywords)
        if not self.warned:
            self.warned = True
            logger.warning(
                f"The `prompt` and `task` parameters could not be passed to {type(self.loss).__name__}. "
                "These parameters are required for advanced preprocessing in losses. Please update your loss "
                "function to accept `prompt` and `task` keyword arguments."
            )
        return self.loss(sentence_features, labels)

    @property
    def uses_gradient_cache(self) -> bool:
        """The user's loss's own (a ``CachedLossMixin`` one's True), for the wrappers that read it."""
        return getattr(self.loss, "uses_gradient_cache", False)

    def check_data(self, n_columns: int, labels: Any, where: str, list_columns: Sequence[int] = ()) -> None:
        """Any data: the loss's own code decides what it takes."""

    def config(self) -> dict[str, Any]:
        get_config = getattr(self.loss, "get_config_dict", None)
        return dict(get_config()) if callable(get_config) else {}

    def describe(self) -> str:
        options = ", ".join(f"{k}={v}" for k, v in self.config().items())
        return f"{type(self.loss).__name__}({options})"


def takes_keywords(function: Callable[..., Any], names: Iterable[str]) -> bool:
    """Whether ``function`` takes each of ``names`` as a keyword (or any keyword)."""
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):  # no signature to read: assume it does
        return True
    if any(p.kind is p.VAR_KEYWORD for p in parameters):
        return True
    return set(names) <= {p.name for p in parameters if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}


def as_loss(loss: Any, model: Any) -> Any:
    """``loss`` as the trainer runs it: an sbert loss as it is, a user's ``nn.Module`` loss wrapped in
    :class:`UserLoss`; anything else is returned for the trainer to refuse by name."""
    if isinstance(loss, Loss) or not isinstance(loss, nn.Module):
        return loss
    return UserLoss(model, loss)


def as_given(losses: Any) -> Any:
    """``losses`` (a loss or a dict of them) as the user gave them: a user's own loss unwrapped, so that
    sentence-transformers' ``trainer.loss`` is that object (its class, attributes and identity)."""
    if isinstance(losses, Mapping):
        return {name: as_given(loss) for name, loss in losses.items()}
    return losses.loss if isinstance(losses, UserLoss) else losses


def embeds_itself(loss: Any) -> bool:
    """Whether ``loss`` (or the loss it wraps, all the way in) is a user's, which runs the model itself."""
    while getattr(loss, "wraps_loss", False):
        loss = loss.loss
    return isinstance(loss, UserLoss) or (isinstance(loss, nn.Module) and not isinstance(loss, Loss))


class WrapsLoss:
    """For a :class:`Loss` built around another one, held as ``self.loss`` as the user gave it: a user's own
    ``nn.Module`` stays that module (sentence-transformers' ``.loss``), not registered behind an adapter.
    ``inner`` is the loss as sbert runs it: an sbert loss itself, a user's module in its :class:`UserLoss`
    (made once, kept outside the module tree, so neither ``state_dict`` nor ``repr`` show it)."""

    @property
    def inner(self) -> Any:
        loss = getattr(self, "loss", None)
        if isinstance(loss, Loss) or not isinstance(loss, nn.Module):
            return loss
        adapter = vars(self).get("user_loss")
        if adapter is None or adapter.loss is not loss:  # made once per given loss
            adapter = UserLoss(getattr(self, "model", None), loss)
            vars(self)["user_loss"] = adapter  # plain attribute: nn.Module would register it
        return adapter


@contextlib.contextmanager
def model_forward(
    model: Any, make: Callable[[Callable[..., Any]], Any], name: str = "forward"
) -> Iterator[Any]:
    """For the block, ``model.forward`` (which ``model(features)`` calls; or the method ``name``) is
    ``make(forward)``, ``forward`` the one it replaces; yields the new one, and puts the old one back
    afterwards."""
    before = vars(model).get(name)  # an enclosing wrapper's, or none (the class's method)
    setattr(model, name, make(getattr(model, name)))
    try:
        yield getattr(model, name)
    finally:
        if before is None:
            delattr(model, name)
        else:
            setattr(model, name, before)
