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
from .base import Features
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
        # cut before any forward: a module may change the features in place (Pooling's include_prompt)
        ranges = [
            minibatch_ranges(f, self.mini_batch_size, self.mini_batch_num_tokens) for f in sentence_features
        ]
        reps, states = [], []
        for features, column_ranges in zip(sentence_features, ranges):
            # no random states without gradients: nothing replays them
            column = list(
                self.embed_minibatch_iter(
                    sentence_feature=features,
                    with_grad=False,
                    copy_random_state=with_grad,
                    ranges=column_ranges,
                )
            )
            reps.append([embeddings.detach().requires_grad_() for embeddings, _ in column])
            states.append([state for _, state in column])
        if not with_grad:
            return self.calculate_loss(reps, labels)
        loss = self.calculate_loss(reps, labels, with_backward=True).detach().requires_grad_()
        cache = [[rep.grad for rep in column] for column in reps]
        check_all_columns_used(type(self).__name__, cache)
        loss.register_hook(
            partial(
                backward_hook,
                sentence_features=sentence_features,
                loss_obj=self,
                cache=cache,
                random_states=states,
                ranges=ranges,
            )
        )
        return loss
