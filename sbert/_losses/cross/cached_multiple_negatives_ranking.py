"""CachedMultipleNegativesRankingLoss (cross-encoder): MultipleNegativesRankingLoss over many more
(query, candidate) pairs than fit in memory at once, by gradient caching (GradCache, Gao et al. 2021), as
sentence-transformers' cross-encoder ``CachedMultipleNegativesRankingLoss``."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import nullcontext
from functools import partial
from typing import Any

import torch

from ..._checks import check_positive_int
from ..._progress import progress_bar
from ..grad_cache import RandomState
from .multiple_negatives_ranking import MultipleNegativesRankingLoss

Pairs = list[tuple[str, str]]


class CachedMultipleNegativesRankingLoss(MultipleNegativesRankingLoss):
    """:class:`MultipleNegativesRankingLoss` with gradient caching: the same loss and gradients, while only
    ``mini_batch_size`` (query, candidate) pairs hold an autograd graph at a time, so the batch (and with it
    the number of in-batch negatives) can grow far beyond memory.

    Three steps: score every mini-batch of pairs without a graph, keeping the random state each forward
    started from; compute the loss on all the scores and its gradient with respect to them (the cache);
    when the loss is back-propagated, score each mini-batch again with a graph, replaying its random state
    (the same dropout), and push its cached gradient through it.

    Args:
        model: the :class:`sbert.CrossEncoder` to train (one output label).
        num_negatives: in-batch negatives per query, drawn from the other rows' candidates (default 4);
            ``None``: all of them.
        scale: multiplies the (activated) logits (default 10).
        activation_fn: applied to the logits first (default Sigmoid, as sentence-transformers).
        mini_batch_size: (query, candidate) pairs per forward (default 32); it sets the memory, not the
            result.
        show_progress_bar: show the scoring of the mini-batches.

    Inputs:

        +-------------------------------------------------+--------+
        | Texts                                           | Labels |
        +=================================================+========+
        | (query, positive) pairs                         | none   |
        +-------------------------------------------------+--------+
        | (query, positive, negative_1, ..., negative_n)  | none   |
        +-------------------------------------------------+--------+

    Example::

        from sbert import CrossEncoder, load_dataset
        from sbert.cross_encoder import CrossEncoderTrainer, CrossEncoderTrainingArguments
        from sbert.cross_encoder.losses import CachedMultipleNegativesRankingLoss

        model = CrossEncoder("path/to/encoder", num_labels=1)
        train = load_dataset([("what is a cat?", "A cat is a feline."), ("how tall is Everest?", "8,849 m.")])
        loss = CachedMultipleNegativesRankingLoss(model, num_negatives=None, mini_batch_size=16)
        args = CrossEncoderTrainingArguments(output_dir="out", per_device_train_batch_size=256)
        CrossEncoderTrainer(model, train, loss, args=args).train()
    """

    uses_gradient_cache = True  # back-propagates from a hook on the returned loss

    def __init__(
        self,
        model: Any,
        num_negatives: int | None = 4,
        scale: float = 10.0,
        activation_fn: Any = "Sigmoid",
        mini_batch_size: int = 32,
        show_progress_bar: bool = False,
    ) -> None:
        super().__init__(model, num_negatives=num_negatives, scale=scale, activation_fn=activation_fn)
        check_positive_int("mini_batch_size", mini_batch_size)
        self.mini_batch_size, self.show_progress_bar = mini_batch_size, show_progress_bar

    def forward(
        self,
        inputs: Sequence[Sequence[str]],
        labels: Any,
        prompt: str | None = None,
        task: str | None = None,
    ) -> torch.Tensor:
        pairs, batch = self.ranked_pairs(inputs), len(inputs[0])
        chunks = [pairs[i : i + self.mini_batch_size] for i in range(0, len(pairs), self.mini_batch_size)]
        with_grad = torch.is_grad_enabled()
        anchor = [next(self.model.parameters())]  # the device whose random state dropout draws from
        states: list[RandomState] = []
        scores = []
        with progress_bar(
            len(chunks), desc="Score mini-batches", unit="batch", show=self.show_progress_bar
        ) as bar:
            for chunk in chunks:  # step 1: scores without a graph, and each forward's random state
                if with_grad:
                    states.append(RandomState(anchor))
                with torch.no_grad():
                    scores.append(self.logits(chunk, prompt).view(-1))
                bar.update()
        logits = torch.cat(scores).requires_grad_(with_grad)
        loss = self.ranking_loss(logits, batch)
        if not with_grad:
            return loss
        (cache,) = torch.autograd.grad(loss, logits)  # step 2: d loss / d logits
        device = anchor[0].device.type
        autocast = (device, torch.get_autocast_dtype(device)) if torch.is_autocast_enabled(device) else None
        cached = loss.detach().requires_grad_()
        cached.register_hook(
            partial(self._replay, chunks, prompt, states, cache.split([len(c) for c in chunks]), autocast)
        )
        return cached

    def _replay(
        self,
        chunks: list[Pairs],
        prompt: str | None,
        states: list[RandomState],
        cache: Sequence[torch.Tensor],
        autocast: tuple[str, torch.dtype] | None,
        grad_output: torch.Tensor,
    ) -> None:
        """Step 3, the hook on the returned loss: score each mini-batch again with a graph and back-propagate
        its cached gradient (times the loss's own, e.g. a weight or a loss scaler's factor)."""
        with torch.enable_grad():
            for chunk, state, grad in zip(chunks, states, cache):
                cast = torch.autocast(autocast[0], dtype=autocast[1]) if autocast else nullcontext()
                with state.replay(), cast:
                    logits = self.logits(chunk, prompt).view(-1)
                if not logits.requires_grad:  # a frozen model: nothing to train
                    continue
                ((logits.float() * grad.float()).sum() * grad_output.float()).backward()

    def config(self) -> dict[str, Any]:
        return {**super().config(), "mini_batch_size": self.mini_batch_size}
