"""CachedMultiVectorMultipleNegativesRankingLoss: MultiVectorMultipleNegativesRankingLoss at batch sizes too
big for one graph, with GradCache (Gao et al. 2021, https://arxiv.org/abs/2101.06983).

(1) Embed each column's mini-batches without a graph, keeping each forward's random state; (2) compute the
loss over the whole batch of token embeddings and its gradient with respect to them; (3) when the caller
back-propagates the loss, re-embed each mini-batch with a graph (the same dropout) and push the cached
gradient through it: the gradient of the plain loss, one mini-batch's graph at a time.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import torch
from torch import nn

from ..._errors import InputError
from ..._maxsim import cat_padded_token_embeddings, stack_padded_token_embeddings
from ..base import Features, is_metadata
from ..citations import GRADCACHE
from ..gathering import GradientExchange, empty_term, gather_token_rows
from ..grad_cache import (
    RandomState,
    backpropagate_cached,
    check_all_columns_used,
    minibatch_ranges,
    row_range,
)
from .base import Chunks, MultiVectorLoss
from .multiple_negatives_ranking import ranking_scores
from .scoring import group_scores


class CachedMultiVectorMultipleNegativesRankingLoss(MultiVectorLoss):
    """:class:`MultiVectorMultipleNegativesRankingLoss` with GradCache: the same loss and gradient, the
    memory of ``mini_batch_size`` rows (slower: every column is embedded twice).

    Args:
        model: the :class:`sbert.MultiVectorEncoder` to train.
        scale, similarity_fct: as for :class:`MultiVectorMultipleNegativesRankingLoss`.
        mini_batch_size: rows embedded at a time (default 32).
        mini_batch_num_tokens: instead, mini-batches of at most this many real tokens.
        score_mini_batch_size: queries scored at a time (default ``mini_batch_size``).
        gather_across_devices: as for :class:`MultiVectorMultipleNegativesRankingLoss`.
        show_progress_bar: accepted; sbert shows none here.

    Requirements:
        (anchor, positive) pairs or (anchor, positive, negative_1, ..., negative_n) tuples; no label.
    """

    uses_gradient_cache = True

    citation = GRADCACHE

    def __init__(
        self,
        model: Any,
        *,
        scale: float = 1.0,
        similarity_fct: Callable[..., torch.Tensor] | None = None,
        mini_batch_size: int = 32,
        mini_batch_num_tokens: int | None = None,
        score_mini_batch_size: int | None = None,
        gather_across_devices: bool = False,
        show_progress_bar: bool = False,
    ) -> None:
        super().__init__(model)
        name = type(self).__name__
        if mini_batch_num_tokens is not None and mini_batch_num_tokens <= 0:
            raise InputError(f"{name}: mini_batch_num_tokens must be a positive integer or None.")
        if not scale > 0:
            raise InputError(f"{name}: scale must be a positive value, got {scale!r}.")
        self.scale = scale
        self.similarity_fct = similarity_fct
        self.mini_batch_size = mini_batch_size
        self.mini_batch_num_tokens = mini_batch_num_tokens
        self.score_mini_batch_size = (
            score_mini_batch_size if score_mini_batch_size is not None else mini_batch_size
        )
        self.gather_across_devices = gather_across_devices
        self.collective = gather_across_devices  # every process must join each step's exchange
        self.show_progress_bar = show_progress_bar

    def forward(
        self, sentence_features: Sequence[Features], labels: torch.Tensor | None = None
    ) -> torch.Tensor:
        sentence_features = [
            {**f, "task": f.get("task", "query" if i == 0 else "document")}
            for i, f in enumerate(sentence_features)
        ]
        with_grad = torch.is_grad_enabled()
        ranges = [self.ranges(f) for f in sentence_features]
        reps, masks, states = self._embed_without_graph(sentence_features, ranges, with_grad)
        if not with_grad:
            return self.calculate_loss(reps, masks)
        with GradientExchange() as exchange:  # gather_across_devices: exchanged in the hook, once
            loss = self.calculate_loss(reps, masks, with_backward=True).detach().requires_grad_()
        if not exchange.pending:  # (gathered documents get their gradients in the hook)
            check_all_columns_used(type(self).__name__, [[rep.grad for rep in column] for column in reps])
        cache = exchange.take_gradients(reps)
        loss.register_hook(partial(self._replay, sentence_features, ranges, states, cache, exchange))
        return loss

    def ranges(self, features: Features) -> list[tuple[int, int]]:
        """The ``[begin, end)`` rows of each mini-batch: ``mini_batch_size`` rows, or as many rows as fit in
        ``mini_batch_num_tokens`` real tokens (one row at least)."""
        return minibatch_ranges(features, self.mini_batch_size, self.mini_batch_num_tokens)

    def _embed_without_graph(
        self, sentence_features: list[Features], ranges: list[list[tuple[int, int]]], with_grad: bool
    ) -> tuple[Chunks, Chunks, list[list[RandomState | None]]]:
        """Step (1): each mini-batch's token embeddings as a leaf, its mask, its forward's random state."""
        reps, masks, states = [], [], []
        for features, column_ranges in zip(sentence_features, ranges):
            column_reps, column_masks, column_states = [], [], []
            for begin, end in column_ranges:
                chunk = row_range(features, begin, end)
                tensors = [v for k, v in chunk.items() if not is_metadata(k, v)]
                column_states.append(RandomState(tensors) if with_grad else None)
                with torch.no_grad():
                    embeddings, mask = self.embed(chunk, chunk["task"])
                column_reps.append(embeddings.detach().requires_grad_(with_grad))
                column_masks.append(mask)
            reps.append(column_reps)
            masks.append(column_masks)
            states.append(column_states)
        return reps, masks, states

    def calculate_loss(self, reps: Chunks, masks: Chunks, *, with_backward: bool = False) -> torch.Tensor:
        """Step (2): the loss over the whole batch, scored ``score_mini_batch_size`` queries at a time (each
        slice back-propagated to the leaves at once with ``with_backward``)."""
        columns = [cat_padded_token_embeddings(r, m) for r, m in zip(reps, masks)]
        queries, query_mask = columns[0]
        gathered, gathered_masks, offset = gather_token_rows(
            [e for e, _ in columns[1:]], [m for _, m in columns[1:]], self.gather_across_devices
        )
        if len(queries) == 0:  # no rows here this step
            return empty_term(gathered)
        documents, document_mask = stack_padded_token_embeddings(gathered, gathered_masks)
        n, per_query = len(queries), documents.shape[1]
        targets = (torch.arange(n, device=queries.device) + offset) * per_query
        scorer = self.similarity_fct or partial(group_scores, self.model.similarity)
        losses = []
        for begin in range(0, n, self.score_mini_batch_size):
            end = begin + self.score_mini_batch_size
            scores = ranking_scores(queries, query_mask, documents, document_mask, scorer, begin, end)
            part = nn.functional.cross_entropy(scores * self.scale, targets[begin:end], reduction="sum") / n
            if with_backward:
                part.backward()
                part = part.detach()
            losses.append(part)
        return torch.stack(losses).sum()

    def _replay(
        self,
        sentence_features: list[Features],
        ranges: list[list[tuple[int, int]]],
        states: list[list[RandomState]],
        cache: list[list[torch.Tensor | None]],
        exchange: GradientExchange,
        grad_output: torch.Tensor,
    ) -> None:
        """Step (3), the hook on the returned loss."""
        cache, grad_output = exchange.gradients(cache, grad_output)

        def embed(features: Features, begin: int, end: int, state: RandomState) -> torch.Tensor:
            with state.replay():
                return self.embed(row_range(features, begin, end), features["task"])[0]

        steps = [
            (partial(embed, features, begin, end, state), grad)
            for features, column_ranges, column_states, column_cache in zip(
                sentence_features, ranges, states, cache
            )
            for (begin, end), state, grad in zip(column_ranges, column_states, column_cache)
        ]
        backpropagate_cached(steps, grad_output)

    def config(self) -> dict[str, Any]:
        return {
            "scale": self.scale,
            "similarity_fct": self.similarity_config(),
            "mini_batch_size": self.mini_batch_size,
            "mini_batch_num_tokens": self.mini_batch_num_tokens,
            "score_mini_batch_size": self.score_mini_batch_size,
            "gather_across_devices": self.gather_across_devices,
        }

    get_config_dict = config
