"""What the listwise cross-encoder losses share: a query with its list of documents and their labels,
scored pair by pair, padded into ``(B, N)`` matrices for the ranking maths."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from ..._errors import InputError
from .base import CrossEncoderLoss

# the score of a padding slot: below every real score, so it sorts last and gets no softmax mass
PAD_SCORE = -1e16


class ListwiseLoss(CrossEncoderLoss):
    """Base class of the losses on (query, [documents]) rows with [labels]: :meth:`forward` scores every
    (query, document) pair, ``mini_batch_size`` pairs a call, and hands :meth:`ranking_loss` the scores and
    labels as ``(B, N)`` matrices, ``N`` the longest list; shorter lists are padded with :data:`PAD_SCORE`
    scores and ``-inf`` labels."""

    label_kind = "list"
    list_column = 1
    data_shape = "(query, [documents]) rows with [labels]"

    def __init__(self, model: Any, activation_fn: Any = None, mini_batch_size: int | None = None) -> None:
        super().__init__(model, activation_fn)
        if mini_batch_size is not None and (
            isinstance(mini_batch_size, bool) or not isinstance(mini_batch_size, int)
        ):
            raise InputError(
                f"{type(self).__name__}: mini_batch_size must be an int (pairs per forward; <= 0: all at "
                f"once) or None (the number of queries), got {mini_batch_size!r}."
            )
        self.mini_batch_size = mini_batch_size

    def forward(
        self, inputs: Sequence[Any], labels: Any, prompt: str | None = None, task: str | None = None
    ) -> torch.Tensor:
        return self.ranking_loss(*self.padded_scores(inputs, labels, prompt))

    def ranking_loss(self, scores: torch.Tensor, relevance: torch.Tensor) -> torch.Tensor:
        """The loss of ``(B, N)`` scores against relevance (``-inf`` where a list is shorter than N)."""
        raise NotImplementedError

    def padded_scores(
        self, inputs: Sequence[Any], labels: Any, prompt: str | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The activated scores and the labels of the rows ``(queries, documents lists)``, both ``(B, N)``
        (``prompt`` before each query)."""
        name = type(self).__name__
        if len(inputs) != 2:
            raise InputError(f"{name} takes two columns, queries and lists of documents, got {len(inputs)}.")
        queries, docs_list = inputs
        rows_labels = [] if labels is None else [np.asarray(row, dtype=np.float64) for row in labels]
        if isinstance(labels, torch.Tensor) or labels is None or any(row.ndim != 1 for row in rows_labels):
            raise InputError(
                f"{name} needs one list of labels per query (a list of 1-d tensors), the batch has "
                f"{'no labels' if labels is None else 'one value per row'}."
            )
        counts = [len(docs) for docs in docs_list]
        if counts != [len(row) for row in rows_labels]:
            raise InputError(
                f"documents per query {counts} differ from labels per query {[len(r) for r in rows_labels]}."
            )
        logits = self.activation_fn(self.list_logits(queries, docs_list, prompt).float())
        device = logits.device
        batch, width = len(queries), max(counts)
        rows = torch.repeat_interleave(torch.arange(batch), torch.tensor(counts))
        columns = torch.cat([torch.arange(n) for n in counts])
        scores = torch.full((batch, width), PAD_SCORE, device=device)
        scores[rows, columns] = logits
        relevance = torch.full_like(scores, float("-inf"))
        relevance[rows, columns] = torch.as_tensor(np.concatenate(rows_labels)).float().to(device)
        return scores, relevance

    def list_logits(
        self, queries: Sequence[str], docs_list: Sequence[Sequence[str]], prompt: str | None = None
    ) -> torch.Tensor:
        """The logits ``(sum of list lengths,)`` of every (query, document) pair, ``mini_batch_size`` pairs
        a call (default: as many as there are queries; ``<= 0``: all pairs at once)."""
        pairs = [(query, doc) for query, docs in zip(queries, docs_list) for doc in docs]
        size = self.mini_batch_size or len(queries)
        size = len(pairs) if size <= 0 else size
        return torch.cat(
            [self.logits(pairs[i : i + size], prompt).view(-1) for i in range(0, len(pairs), size)]
        )

    def check_labels(self, labels: np.ndarray, where: str) -> None:
        name = type(self).__name__
        for i, row in enumerate(labels):
            values = np.asarray(row, dtype=object)
            if values.ndim != 1 or not all(isinstance(v, (int, float, np.number)) for v in values):
                raise InputError(f"{where}: row {i}: {name} needs a list of numeric labels per query.")
            if not np.isfinite(values.astype(np.float64)).all():
                raise InputError(f"{where}: row {i} has a label that is not a finite number.")

    def config(self) -> dict[str, Any]:
        return {**super().config(), "mini_batch_size": self.mini_batch_size}
