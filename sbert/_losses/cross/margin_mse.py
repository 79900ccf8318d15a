"""MarginMSELoss (cross-encoder): the margin between a query's positive and each negative regressed onto a
teacher's margin (Hofstätter et al. 2021), as sentence-transformers' cross-encoder ``MarginMSELoss``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from ..._errors import InputError
from ..citations import MARGIN_MSE
from .base import CrossEncoderLoss

LABELS_HINT = (
    "Give per row either the teacher's margins (positive score - each negative's score, one per negative) "
    "or its scores (the positive's first, then each negative's)."
)


class MarginMSELoss(CrossEncoderLoss):
    """Mean squared error between the student's margins ``activation(s(q, p)) - activation(s(q, n_i))`` and
    the labels', for knowledge distillation from a stronger teacher (often a bigger cross-encoder).

    The labels of a row are the teacher's margins (one per negative; one number when there is one negative)
    or its scores, the positive's first; scores are turned into margins here.

    Args:
        model: the :class:`sbert.CrossEncoder` to train (one output label).
        activation_fn: applied to the logits before the margins (default Identity).
        **kwargs: passed on to ``torch.nn.MSELoss``.

    Inputs:

        +------------------------------------------------+--------------------------------------------+
        | Texts                                          | Labels                                     |
        +================================================+============================================+
        | (query, positive, negative)                    | ``t(q, p) - t(q, n)``                      |
        +------------------------------------------------+--------------------------------------------+
        | (query, positive, negative_1, ..., negative_n) | [``t(q, p) - t(q, n_i)`` for each ``i``]   |
        +------------------------------------------------+--------------------------------------------+
        | (query, positive, negative_1, ..., negative_n) | [``t(q, p)``, ``t(q, n_1)``, ...]          |
        +------------------------------------------------+--------------------------------------------+

    Example::

        from sbert import CrossEncoder, load_dataset
        from sbert.cross_encoder import CrossEncoderTrainer, CrossEncoderTrainingArguments
        from sbert.cross_encoder.losses import MarginMSELoss

        teacher, student = CrossEncoder("path/to/teacher"), CrossEncoder("path/to/student")
        rows = [("what is a cat?", "A cat is a feline.", "Paris is in France.")]
        scores = [teacher.predict([(q, p), (q, n)]) for q, p, n in rows]
        train = load_dataset([(*row, float(s[0] - s[1])) for row, s in zip(rows, scores)])
        args = CrossEncoderTrainingArguments(output_dir="out")
        CrossEncoderTrainer(student, train, MarginMSELoss(student), args=args).train()
    """

    citation = MARGIN_MSE

    min_columns = 3
    max_columns = None
    label_kind = "score"
    data_shape = "(query, positive, negative_1, ...) rows with the teacher's margins or scores"

    def __init__(self, model: Any, activation_fn: Any = None, **kwargs: Any) -> None:
        super().__init__(model, activation_fn)
        self.loss_fct = nn.MSELoss(**kwargs)

    def forward(
        self,
        inputs: Sequence[Sequence[str]],
        labels: Any,
        prompt: str | None = None,
        task: str | None = None,
    ) -> torch.Tensor:
        anchors, columns = list(inputs[0]), [list(c) for c in inputs[1:]]
        margins = self.label_margins(labels, len(anchors), len(columns) - 1)  # (B, negatives)
        # every (query, candidate) pair, column-major, positives first (one forward a column with dropout)
        pairs = [list(zip(anchors, column)) for column in columns]
        logits = self.activation_fn(
            self.column_logits(pairs, prompt).view(len(columns), len(anchors)).T
        )  # (B, 1 + negs)
        predicted = logits[:, :1] - logits[:, 1:]
        return self.loss_fct(predicted, margins.to(predicted.device).detach().float())

    def label_margins(self, labels: Any, batch: int, negatives: int) -> torch.Tensor:
        """The labels as margins ``(B, negatives)``: scores (positive first) become margins."""
        if labels is None:
            raise InputError(f"MarginMSELoss needs labels. {LABELS_HINT}")
        labels = torch.stack(list(labels)) if isinstance(labels, list) else torch.as_tensor(labels)
        if labels.shape == (batch, negatives + 1):
            labels = labels[:, :1] - labels[:, 1:]
        if labels.shape == (batch,):
            labels = labels[:, None]
        if labels.shape != (batch, negatives):
            raise InputError(
                f"MarginMSELoss: labels of shape {tuple(labels.shape)} for {batch} rows with {negatives} "
                f"negatives; expected ({batch}, {negatives}) margins or ({batch}, {negatives + 1}) scores. "
                f"{LABELS_HINT}"
            )
        return labels

    def check_data(self, n_columns: int, labels: Any, where: str, list_columns: Sequence[int] = ()) -> None:
        super().check_data(n_columns, labels, where, list_columns)
        width = _label_width(labels, where)
        negatives = n_columns - 2
        if width not in (negatives, negatives + 1) and not (width == 0 and negatives == 1):
            raise InputError(
                f"{where}: MarginMSELoss got {width or 1} label(s) per row for {negatives} negative "
                f"column(s). {LABELS_HINT}"
            )

    def check_labels(self, labels: np.ndarray, where: str) -> None:
        _label_width(labels, where)


def _label_width(labels: Any, where: str) -> int:
    """The number of labels per row (0: one number per row); InputError unless they are finite numbers, as
    many in every row."""
    values = np.asarray(labels)
    try:
        rows = values if values.dtype != object else np.stack([np.asarray(r).reshape(-1) for r in values])
        rows = rows.astype(np.float64)
    except (ValueError, TypeError) as error:
        raise InputError(
            f"{where}: MarginMSELoss needs numeric labels, as many in every row ({error}). {LABELS_HINT}"
        ) from error
    if not np.isfinite(rows).all():
        raise InputError(f"{where}: MarginMSELoss needs labels that are finite numbers.")
    return 0 if rows.ndim == 1 else rows.shape[1]
