"""CachedMultipleNegativesRankingLoss (cross-encoder): MultipleNegativesRankingLoss over many more
(query, candidate) pairs than fit in memory at once, by gradient caching (GradCache, Gao et al. 2021), as
sentence-transformers' cross-encoder ``CachedMultipleNegativesRankingLoss``."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import nullcontext
from functools import partial
from typing import Any

import torch

from ..._checks import check_positive_int
from ..._progress import progress_bar
from ..grad_cache import RandContext
from .multiple_negatives_ranking import MultipleNegativesRankingLoss


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
        labels: Any = None,
        prompt: str | None = None,
        task: str | None = None,
    ) -> torch.Tensor:
        pairs, batch = self.ranked_pairs(inputs), len(inputs[0])  # the in-batch negatives drawn first
        with_grad = torch.is_grad_enabled()
        logits, states = [], []
        # step 1: scores without a graph, and the random state each forward started from
        for chunk, state in self.predict_minibatch_iter(
            pairs, with_grad=False, copy_random_state=with_grad, prompt=prompt, task=task
        ):
            logits.append(chunk.detach().requires_grad_())
            states.append(state)
        if not with_grad:
            return self.calculate_loss(logits, batch)
        loss, cache = self.calculate_loss_and_cache_gradients(logits, batch)  # step 2
        device = next(self.model.parameters()).device.type
        autocast = (device, torch.get_autocast_dtype(device)) if torch.is_autocast_enabled(device) else None
        feature = {"pairs": pairs, "prompt": prompt, "task": task}
        loss.register_hook(partial(self._replay, feature, states, cache, autocast))
        return loss

    def predict_minibatch(
        self,
        pairs: Sequence[Sequence[str]],
        with_grad: bool,
        copy_random_state: bool,
        random_state: RandContext | None = None,
        prompt: str | None = None,
        task: str | None = None,
    ) -> tuple[torch.Tensor, RandContext | None]:
        """sentence-transformers' step: the logits ``(len(pairs),)`` of one mini-batch of pairs (with a graph
        when ``with_grad``, from ``random_state`` when given), and the random state its forward started from
        when ``copy_random_state``. A subclass may override it."""
        with nullcontext() if random_state is None else random_state:
            with nullcontext() if with_grad else torch.no_grad():
                state = RandContext(next(self.model.parameters())) if copy_random_state else None
                logits = self.logits([tuple(pair) for pair in pairs], prompt).view(-1)
        return logits, state

    def predict_minibatch_iter(
        self,
        pairs: Sequence[Sequence[str]],
        with_grad: bool,
        copy_random_state: bool,
        random_states: list[RandContext] | None = None,
        prompt: str | None = None,
        task: str | None = None,
    ) -> Iterator[tuple[torch.Tensor, RandContext | None]]:
        """:meth:`predict_minibatch` of each ``mini_batch_size`` pairs, in order (``random_states``: one a
        mini-batch, replayed)."""
        starts = range(0, len(pairs), self.mini_batch_size)
        with progress_bar(
            len(starts), desc="Predict mini-batches", unit="batch", show=self.show_progress_bar
        ) as bar:
            for i, begin in enumerate(starts):
                yield self.predict_minibatch(
                    pairs[begin : begin + self.mini_batch_size],
                    with_grad=with_grad,
                    copy_random_state=copy_random_state,
                    random_state=None if random_states is None else random_states[i],
                    prompt=prompt,
                    task=task,
                )
                bar.update()

    def embed_minibatch_iter(
        self,
        sentence_feature: dict[str, Any],
        with_grad: bool,
        copy_random_state: bool,
        random_states: list[RandContext] | None = None,
        ranges: list[tuple[int, int]] | None = None,
    ) -> Iterator[tuple[torch.Tensor, RandContext | None]]:
        """sentence-transformers' GradCache step 3 reads the loss's one "column" through this:
        ``sentence_feature`` holds its ``pairs``, ``prompt`` and ``task``; :meth:`predict_minibatch_iter`
        of them (``ranges`` is not used: the pairs are cut by count)."""
        yield from self.predict_minibatch_iter(
            sentence_feature["pairs"],
            with_grad=with_grad,
            copy_random_state=copy_random_state,
            random_states=random_states,
            prompt=sentence_feature.get("prompt"),
            task=sentence_feature.get("task"),
        )

    def calculate_loss_and_cache_gradients(
        self, logits: list[torch.Tensor], batch_size: int
    ) -> tuple[torch.Tensor, list[torch.Tensor | None]]:
        """sentence-transformers' step 2: :meth:`calculate_loss` of the mini-batches' ``logits`` (leaves that
        require grad), back-propagated to them; the loss, detached (requiring grad, for the hook of step
        3), and each mini-batch's gradient (the cache). A subclass may override it."""
        loss = self.calculate_loss(logits, batch_size)
        loss.backward()
        return loss.detach().requires_grad_(), [chunk.grad for chunk in logits]

    def _replay(
        self,
        feature: dict[str, Any],
        states: list[RandContext | None],
        cache: Sequence[torch.Tensor | None],
        autocast: tuple[str, torch.dtype] | None,
        grad_output: torch.Tensor,
    ) -> None:
        """Step 3, the hook on the returned loss: score each mini-batch again with a graph
        (:meth:`embed_minibatch_iter`, replaying its random state and the forward's autocast) and
        back-propagate its cached gradient (times the loss's own, e.g. a weight or a loss scaler's)."""
        replayed = self.embed_minibatch_iter(
            feature, with_grad=True, copy_random_state=False, random_states=states
        )
        with torch.enable_grad():
            for grad in cache:
                with torch.autocast(autocast[0], dtype=autocast[1]) if autocast else nullcontext():
                    logits = next(replayed)[0]
                if grad is None or not logits.requires_grad:  # unread, or a frozen model: nothing to train
                    continue
                ((logits.float() * grad.float()).sum() * grad_output.float()).backward()

    def config(self) -> dict[str, Any]:
        return {**super().config(), "mini_batch_size": self.mini_batch_size}
