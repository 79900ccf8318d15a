"""MultipleNegativesRankingLoss (cross-encoder): find each query's positive among negatives, each pair
scored by the cross-encoder."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from itertools import chain
from typing import Any

import torch
from torch import nn

from ..._checks import check_positive_int
from ..._errors import InputError
from ..base import user_overrides
from .base import CrossEncoderLoss


class MultipleNegativesRankingLoss(CrossEncoderLoss):
    """Cross-entropy of picking each query's positive among ``num_negatives`` in-batch negatives and its hard
    negatives, as sentence-transformers' cross-encoder ``MultipleNegativesRankingLoss``.

    Every (query, candidate) pair runs through the cross-encoder: the positive, ``num_negatives`` other rows'
    candidates drawn at random (all of them with ``None``), and the row's own hard negatives (mined with
    :func:`sbert.util.mine_hard_negatives`, ``n-tuple`` format). ``loss = CE(scale * activation(logits), 0)``.

    Args:
        model: the :class:`sbert.CrossEncoder` to train (one output label).
        num_negatives: in-batch negatives per query, drawn from the other rows' candidates (default 4);
            ``None``: all of them.
        scale: multiplies the (activated) logits (default 10).
        activation_fn: applied to the logits first (default Sigmoid, as sentence-transformers).

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
        from sbert.cross_encoder.losses import MultipleNegativesRankingLoss

        model = CrossEncoder("path/to/encoder", num_labels=1)
        train = load_dataset([("what is a cat?", "A cat is a feline.", "Paris is in France."),
                              ("how tall is Everest?", "8,849 metres.", "The Alps are in Europe.")])
        args = CrossEncoderTrainingArguments(output_dir="out")
        CrossEncoderTrainer(model, train, MultipleNegativesRankingLoss(model), args=args).train()
    """

    max_columns = None
    data_shape = "(query, positive[, negative_1, ...]) rows"

    def __init__(
        self,
        model: Any,
        num_negatives: int | None = 4,
        scale: float = 10.0,
        activation_fn: Any = "Sigmoid",
    ) -> None:
        super().__init__(model, activation_fn)
        check_positive_int("num_negatives", num_negatives, optional=True)
        if not isinstance(scale, (int, float)) or scale < 0:
            raise InputError(f"scale must be a number >= 0, got {scale!r}")
        self.num_negatives, self.scale = num_negatives, scale
        self.cross_entropy_loss = nn.CrossEntropyLoss()

    def forward(
        self,
        inputs: Sequence[Sequence[str]],
        labels: Any,
        prompt: str | None = None,
        task: str | None = None,
    ) -> torch.Tensor:
        anchors = list(inputs[0])
        if user_overrides(self, "call_model_with_columns", "call_model_with_pairs"):
            # a user's scoring step, called a column at a time as sentence-transformers calls it
            columns = self.candidate_columns(inputs)
            scores = [self.call_model_with_columns(anchors, c, prompt=prompt, task=task) for c in columns]
            return self.calculate_loss(scores, len(anchors))
        # with dropout, one forward a column, the in-batch negatives drawn after the positives' forward;
        # calculate_loss takes the logits in that flat order as they are (no split into columns to join)
        return self.calculate_loss(self.column_logits(self.ranked_columns(inputs), prompt), len(anchors))

    def candidate_columns(self, inputs: Sequence[Sequence[str]]) -> Iterator[list[str]]:
        """The batch's candidates column by column: the positives, then each column of in-batch negatives
        (:meth:`get_in_batch_negatives`, drawn once the positives are taken), then each column of hard
        negatives."""
        anchors, candidates = list(inputs[0]), [list(c) for c in inputs[1:]]
        return chain([candidates[0]], self.get_in_batch_negatives(anchors, candidates), candidates[1:])

    def ranked_columns(self, inputs: Sequence[Sequence[str]]) -> Iterator[list[tuple[str, str]]]:
        """The batch's (query, candidate) pairs column by column (:meth:`candidate_columns`)."""
        anchors = list(inputs[0])
        return (list(zip(anchors, column)) for column in self.candidate_columns(inputs))

    def ranked_pairs(self, inputs: Sequence[Sequence[str]]) -> list[tuple[str, str]]:
        """Every (query, candidate) pair of the batch, column-major (:meth:`ranked_columns`)."""
        return [pair for column in self.ranked_columns(inputs) for pair in column]

    def call_model_with_columns(
        self, anchors: list[str], candidates: list[str], prompt: str | None = None, task: str | None = None
    ) -> torch.Tensor:
        """sentence-transformers' step: the logits ``(B,)`` of the pairs ``(anchors[i], candidates[i])``
        (:meth:`call_model_with_pairs`). A subclass may override it (the loss then scores each column
        through it, as there)."""
        return self.call_model_with_pairs(list(zip(anchors, candidates)), prompt=prompt, task=task)

    def call_model_with_pairs(
        self, pairs: Sequence[Sequence[str]], prompt: str | None = None, task: str | None = None
    ) -> torch.Tensor:
        """sentence-transformers' step: the model's logits ``(B,)`` of ``pairs`` (``prompt`` before each
        first text), with gradients (``task``: its keyword, which sbert's cross-encoders do not take)."""
        return self.logits([tuple(pair) for pair in pairs], prompt).squeeze(1)

    def get_in_batch_negatives(self, anchors: list[str], candidates: list[list[str]]) -> Iterator[list[str]]:
        """Column after column of in-batch negatives: other rows' candidates (``candidates``: the columns
        of positives and hard negatives), ``num_negatives`` a row drawn at random as sentence-transformers
        draws them (the same draws from the same torch seed), or all of them."""
        batch, n_columns = len(anchors), len(candidates)
        flat = [text for column in candidates for text in column]
        mask = ~torch.eye(batch, dtype=torch.bool).repeat(1, n_columns)  # (B, B * columns): not its own
        if self.num_negatives is not None and self.num_negatives < len(flat) - n_columns:
            indices = torch.multinomial(mask.float(), self.num_negatives)  # (B, num_negatives)
        else:
            indices = torch.arange(batch * n_columns).repeat(batch, 1)[mask].reshape(batch, -1)
        for column in indices.T:
            yield [flat[i] for i in column]

    def calculate_loss(self, logits: Sequence[torch.Tensor] | torch.Tensor, batch_size: int) -> torch.Tensor:
        """sentence-transformers' step: the loss of the logits of the candidates in
        :meth:`candidate_columns`' order (a ``(B,)`` tensor per column, or any pieces of that flat order),
        for ``batch_size`` queries, each query's positive first. A subclass may override it."""
        flat = logits if isinstance(logits, torch.Tensor) else torch.cat(list(logits), dim=0)
        logits = flat.reshape(-1, batch_size).T  # (B, 1 + negatives)
        if self.activation_fn is not None:
            logits = self.activation_fn(logits)
        if self.scale:
            logits = logits * self.scale
        target = torch.zeros(batch_size, dtype=torch.long, device=logits.device)  # the positive is first
        return self.cross_entropy_loss(logits, target)

    def config(self) -> dict[str, Any]:
        return {"scale": self.scale, "num_negatives": self.num_negatives, **super().config()}
