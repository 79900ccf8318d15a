"""sentence-transformers 6.3's ``CachedLossMixin``: GradCache for a loss the user writes, on sbert's GradCache
(:mod:`.grad_cache`).

The user's class is an ``nn.Module`` holding ``model``; it sets ``mini_batch_size`` (and may set
``mini_batch_num_tokens``, ``show_progress_bar``), writes ``calculate_loss(reps, labels, *,
with_backward=False)`` over ``reps[column][mini_batch]`` embeddings, and returns
``self.forward_cached(features, labels)`` from its ``forward``. Mini-batches are rows in input order
(sentence-transformers' cut, which the user's ``calculate_loss`` may rely on), each embedded by
``embed_minibatch``, which a subclass may override.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import nullcontext
from functools import partial
from typing import Any

import torch

from .._progress import progress_bar
from .base import Features, user_overrides
from .grad_cache import (
    RandContext,
    backpropagate_cached,
    check_all_columns_used,
    minibatch_ranges,
    row_range,
)


def resolve_gradient_cache_loss(loss: Any) -> Any:
    """The loss that computes the cached loss (has ``calculate_loss``), found through ``.loss`` wrappers
    (sbert's own wrapper of a user's loss among them)."""
    target = loss
    while not hasattr(target, "calculate_loss") and hasattr(target, "loss"):
        target = target.loss
    return target


def backward_hook(
    grad_output: torch.Tensor,
    sentence_features: Iterable[Features],
    loss_obj: Any,
    cache: list[list[torch.Tensor]],
    random_states: list[list[RandContext]],
    ranges: list[list[tuple[int, int]] | None],
) -> None:
    """Step (3) of one forward pass (its own cache, states and mini-batches, so that a second forward before
    this backward cannot mix batches): ``loss_obj.embed_minibatch_iter`` re-embeds each mini-batch with a
    graph, the first element of what it yields being the embeddings."""
    steps = []
    for features, grads, states, column_ranges in zip(sentence_features, cache, random_states, ranges):
        iterator = loss_obj.embed_minibatch_iter(
            sentence_feature=features,
            with_grad=True,
            copy_random_state=False,
            random_states=states,
            ranges=column_ranges,
        )
        # called in order, once each: the iterator's n-th item is the n-th mini-batch
        steps += [(partial(_first, iterator), grad) for grad in grads]
    backpropagate_cached(steps, grad_output)


def _first(iterator: Iterator[tuple[Any, ...]]) -> torch.Tensor:
    return next(iterator)[0]


class CachedLossMixin:
    """The GradCache forward of a user's cached loss (see the module docstring)."""

    model: Any
    mini_batch_size: int
    mini_batch_num_tokens: int | None = None
    show_progress_bar: bool = False
    # back-propagates from a hook on the loss it returns (wrappers read this; an instance may turn it off)
    uses_gradient_cache: bool = True

    def calculate_loss(
        self,
        reps: list[list[torch.Tensor]],
        labels: torch.Tensor | None = None,
        *,
        with_backward: bool = False,
    ) -> torch.Tensor:
        """The loss over the whole batch from the mini-batches' embeddings; with ``with_backward``,
        back-propagated (to ``reps``) and returned detached."""
        raise NotImplementedError

    def embed_minibatch(
        self,
        sentence_feature: Features,
        begin: int,
        end: int,
        with_grad: bool,
        copy_random_state: bool,
        random_state: RandContext | None = None,
    ) -> tuple[torch.Tensor, RandContext | None]:
        """Rows ``begin:end`` embedded (from ``random_state`` when given), and the random state their forward
        started from when ``copy_random_state``."""
        features = row_range(sentence_feature, begin, end)
        with nullcontext() if random_state is None else random_state:
            with nullcontext() if with_grad else torch.no_grad():
                state = RandContext(*features.values()) if copy_random_state else None
                reps = self.model(features)["sentence_embedding"]  # (rows, dim)
        return reps, state

    def embed_minibatch_iter(
        self,
        sentence_feature: Features,
        with_grad: bool,
        copy_random_state: bool,
        random_states: list[RandContext] | None = None,
        ranges: list[tuple[int, int]] | None = None,
    ) -> Iterator[tuple[torch.Tensor, RandContext | None]]:
        """``embed_minibatch`` of each mini-batch of the column, in order."""
        if ranges is None:
            ranges = minibatch_ranges(sentence_feature, self.mini_batch_size, self.mini_batch_num_tokens)
        bar = progress_bar(len(ranges), desc="Embed mini-batches", unit="batch", show=self.show_progress_bar)
        with bar:
            for i, (begin, end) in enumerate(ranges):
                state = None if random_states is None else random_states[i]
                yield self.embed_minibatch(
                    sentence_feature=sentence_feature,
                    begin=begin,
                    end=end,
                    with_grad=with_grad,
                    copy_random_state=copy_random_state,
                    random_state=state,
                )
                bar.update()

    def forward_cached(
        self, sentence_features: Iterable[Features], labels: torch.Tensor | None = None
    ) -> torch.Tensor:
        """GradCache: embed without a graph, the loss and its gradient to the embeddings (the cache), and a
        hook that re-embeds with a graph when the caller back-propagates the returned loss."""
        sentence_features = list(sentence_features)
        with_grad = torch.is_grad_enabled()
        ranges, reps, _, states = embed_all_minibatches(self, sentence_features, with_grad)
        if not with_grad:
            return self.calculate_loss(reps, labels)
        loss = self.calculate_loss(reps, labels, with_backward=True).detach().requires_grad_()
        cache = [[rep.grad for rep in column] for column in reps]
        check_all_columns_used(type(self).__name__, cache)
        return with_replay(self, loss, sentence_features, cache, states, ranges)


def embed_all_minibatches(
    loss: Any, sentence_features: list[Features], with_grad: bool
) -> tuple[list[list[tuple[int, int]]], list[list[torch.Tensor]], list[list[Any]], list[list[Any]]]:
    """GradCache's step (1) through ``loss.embed_minibatch_iter``: each column's mini-batch ranges (cut
    before any forward: a module may change the features in place, Pooling's include_prompt), its
    embeddings as leaves that collect the gradient, what an item holds between the embeddings and the
    random state (a GIST loss's guide embeddings), detached, and the random states (none without
    gradients: nothing replays them)."""
    size, num_tokens = loss.mini_batch_size, loss.mini_batch_num_tokens
    ranges = [minibatch_ranges(features, size, num_tokens) for features in sentence_features]
    reps, extras, states = [], [], []
    for features, column_ranges in zip(sentence_features, ranges):
        column = list(
            loss.embed_minibatch_iter(
                sentence_feature=features,
                with_grad=False,
                copy_random_state=with_grad,
                ranges=column_ranges,
            )
        )
        reps.append([item[0].detach().requires_grad_() for item in column])
        extras.append([item[1].detach() if len(item) > 2 else None for item in column])
        states.append([item[-1] for item in column])
    return ranges, reps, extras, states


def with_replay(
    loss_obj: Any,
    loss: torch.Tensor,
    sentence_features: list[Features],
    cache: list[list[torch.Tensor]],
    states: list[list[Any]],
    ranges: list[list[tuple[int, int]]],
) -> torch.Tensor:
    """``loss`` with GradCache's step (3), :func:`backward_hook`, registered on it."""
    replay = partial(
        backward_hook,
        sentence_features=sentence_features,
        loss_obj=loss_obj,
        cache=cache,
        random_states=states,
        ranges=ranges,
    )
    loss.register_hook(replay)
    return loss


def summed_terms(terms: Iterable[torch.Tensor], with_backward: bool) -> torch.Tensor:
    """The sum of a loss's terms; with ``with_backward``, each back-propagated in turn (its graph freed, the
    embeddings' shared part kept for the next) and the total detached."""
    parts = []
    for term in terms:
        if with_backward:
            term.backward(retain_graph=True)
            term = term.detach()
        parts.append(term)
    return torch.stack(parts).sum()


# the GradCache steps of sentence-transformers' cached losses that a subclass of sbert's may override
ST_CACHE_STEPS = ("embed_minibatch", "embed_minibatch_iter", "calculate_loss")


class CachedSteps(CachedLossMixin):
    """sentence-transformers' GradCache steps on sbert's own cached losses (``grad_cache.CachedLoss``
    subclasses, this class first): ``embed_minibatch`` / ``embed_minibatch_iter`` (the mixin's) and
    ``calculate_loss(reps, labels, *, with_backward)``, the loss's terms (``loss_terms``) over the
    mini-batches' embeddings. A subclass overriding any of them gets sentence-transformers' forward
    (:meth:`CachedLossMixin.forward_cached`: its mini-batches in input order, the steps called where it
    calls them); otherwise sbert's GradCache runs."""

    def calculate_loss(
        self,
        reps: list[list[torch.Tensor]],
        labels: torch.Tensor | None = None,
        *,
        with_backward: bool = False,
    ) -> torch.Tensor:
        embeddings = [torch.cat(column) for column in reps]
        return summed_terms(self.loss_terms(embeddings, None, labels), with_backward)  # type: ignore[attr-defined]

    def forward(self, sentence_features: Iterable[Features], labels: torch.Tensor | None) -> torch.Tensor:
        if user_overrides(self, *ST_CACHE_STEPS):
            return self.forward_cached(sentence_features, labels)
        return super().forward(sentence_features, labels)  # type: ignore[misc]
