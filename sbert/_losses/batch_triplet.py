"""The batch triplet losses: (text, class) rows, every triplet of a batch built from the labels."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from .._errors import InputError
from .base import Loss, check_label_count
from .citations import TRIPLET
from .metrics import distance_name, recorded_distance


class BatchTripletLoss(Loss):
    """Base of the batch triplet losses: one text column and a class id per text.

    Subclasses give :meth:`triplet_loss` of the ``(B, B)`` distances and the ``(B,)`` labels.
    """

    citation = TRIPLET

    min_columns = 1
    max_columns = 1
    label_kind = "class"

    def __init__(self, model: Any, distance_metric: Any = "euclidean", margin: float = 5) -> None:
        super().__init__(model)
        self.distance_metric = distance_name(distance_metric, "matrix", type(self).__name__)
        self.margin = margin

    def compute_loss_from_embeddings(
        self, embeddings: list[torch.Tensor], labels: torch.Tensor | None
    ) -> torch.Tensor:
        (embeddings,) = embeddings
        check_label_count(type(self).__name__, labels, embeddings.shape[0])
        return self.loss_of(labels.view(-1).to(embeddings.device), embeddings)

    def triplet_loss(self, distances: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def loss_of(self, labels: torch.Tensor, embeddings: torch.Tensor) -> torch.Tensor:
        """The loss of ``embeddings`` ``(B, d)`` with their class ``labels`` ``(B,)``."""
        return self.triplet_loss(self.distance_metric(embeddings), labels)

    # sentence-transformers' names, which custom triplet losses written against it call and read

    @staticmethod
    def get_anchor_positive_triplet_mask(labels: torch.Tensor) -> torch.Tensor:
        """``(B, B)``: whether ``(a, p)`` is an anchor and a positive (same class, another row)."""
        same = labels[:, None] == labels[None, :]
        return same & ~torch.eye(len(labels), dtype=torch.bool, device=labels.device)

    @staticmethod
    def get_anchor_negative_triplet_mask(labels: torch.Tensor) -> torch.Tensor:
        """``(B, B)``: whether ``(a, n)`` is an anchor and a negative (another class)."""
        return labels[:, None] != labels[None, :]

    @staticmethod
    def get_triplet_mask(labels: torch.Tensor) -> torch.Tensor:
        """``(B, B, B)``: whether ``(a, p, n)`` is a valid triplet (``a``, ``p`` of one class on two rows;
        ``n`` of another)."""
        positive = BatchTripletLoss.get_anchor_positive_triplet_mask(labels)
        return positive[:, :, None] & BatchTripletLoss.get_anchor_negative_triplet_mask(labels)[:, None, :]

    @property
    def triplet_margin(self) -> float:
        return self.margin

    @property
    def sentence_embedder(self) -> Any:
        return self.model

    def check_labels(self, labels: np.ndarray, where: str) -> None:
        name = type(self).__name__
        if labels.ndim != 1 or labels.dtype.kind not in "iub":  # (bools: two classes, as there)
            raise InputError(
                f"{where}: {name} needs one integer class id per text (text labels become ids in "
                f"load_dataset), got {labels.dtype} labels of shape {labels.shape}."
            )
        if len(labels) and np.unique(labels, return_counts=True)[1].max() < 2:
            raise InputError(
                f"{where}: every class of {name}'s data has a single text, so no batch holds a positive "
                "pair; give several texts per class."
            )

    def config(self) -> dict[str, Any]:
        return {"distance_metric": recorded_distance(self.distance_metric), "margin": self.margin}


def _pair_masks(labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(B, B)`` masks: (anchor, positive) pairs (same class, other row) and (anchor, negative) pairs."""
    return (
        BatchTripletLoss.get_anchor_positive_triplet_mask(labels),
        BatchTripletLoss.get_anchor_negative_triplet_mask(labels),
    )


def _hardest(distances: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Each anchor's farthest positive and nearest negative distance, ``(B, 1)`` each."""
    positive, negative = _pair_masks(labels)
    farthest_positive = (positive.float() * distances).max(dim=1, keepdim=True).values
    # rows that are not negatives are pushed beyond the row's largest distance, out of the minimum
    row_max = distances.max(dim=1, keepdim=True).values
    nearest_negative = (distances + row_max * (1.0 - negative.float())).min(dim=1, keepdim=True).values
    return farthest_positive, nearest_negative


_DOC_TAIL = """

    Args:
        model: the :class:`sbert.SentenceTransformer` to train.
        distance_metric: ``"euclidean"`` (default), ``"squared_euclidean"`` or ``"cosine"``
            (``1 - cos``), or sentence-transformers' spelling:
            ``BatchHardTripletLossDistanceFunction.euclidean_distance``, ``.cosine_distance``.{margin}

    Requirements:
        One text column and an integer class label per text; each batch should hold at least two texts of
        a class (a batch sampler grouping by label gives that), or it has no positive pair.

    Inputs:

        +------------------+-----------------+
        | Texts            | Labels          |
        +==================+=================+
        | single sentences | class id (int)  |
        +------------------+-----------------+

    Example::

        from sbert import SentenceTransformer, Trainer, TrainingArguments, load_dataset
        from sbert import {name}

        model = SentenceTransformer()
        train = load_dataset("questions.tsv", columns=["question"], label="topic")
        args = TrainingArguments(output_dir="out", batch_size=64)
        Trainer(model, train, {name}(model), args=args).train()
    """
MARGIN_DOC = "\n        margin: how much closer positives must be than negatives (default 5)."


def _document(margin: str = MARGIN_DOC) -> Any:
    """Add the parts every batch triplet loss shares to a class's docstring."""

    def decorate(cls: type) -> type:
        cls.__doc__ = (cls.__doc__ or "").rstrip() + _DOC_TAIL.format(name=cls.__name__, margin=margin)
        return cls

    return decorate


@_document()
class BatchAllTripletLoss(BatchTripletLoss):
    """``relu(d(a, p) - d(a, n) + margin)`` averaged over every valid triplet of the batch that is not yet
    satisfied (Hermans et al. 2017, https://arxiv.org/abs/1703.07737).

    Every (anchor, positive, negative) of the batch with the anchor and positive of one class and the
    negative of another counts; the sum is divided by the number of triplets with a positive loss.
    """

    batch_all_triplet_loss = BatchTripletLoss.loss_of  # sentence-transformers' name

    def triplet_loss(self, distances: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        positive, negative = _pair_masks(labels)
        anchors, positives = positive.nonzero(as_tuple=True)  # (P,) each: every (anchor, positive) pair
        # (P, B): the anchor-positive distance against each row of the batch as the negative
        losses = distances[anchors, positives][:, None] - distances[anchors] + self.margin
        losses = nn.functional.relu(negative[anchors].float() * losses)
        return losses.sum() / ((losses > 1e-16).sum() + 1e-16)


@_document()
class BatchHardTripletLoss(BatchTripletLoss):
    """``relu(max d(a, p) - min d(a, n) + margin)`` per anchor: its farthest positive against its nearest
    negative, averaged over the batch (Hermans et al. 2017, https://arxiv.org/abs/1703.07737).

    Harder than :class:`BatchAllTripletLoss`, and quicker to fit noisy labels; large batches work best.
    """

    batch_hard_triplet_loss = BatchTripletLoss.loss_of  # sentence-transformers' name

    def triplet_loss(self, distances: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        farthest_positive, nearest_negative = _hardest(distances, labels)
        return nn.functional.relu(farthest_positive - nearest_negative + self.margin).mean()


@_document(margin="")
class BatchHardSoftMarginTripletLoss(BatchTripletLoss):
    """``softplus(max d(a, p) - min d(a, n))`` per anchor: :class:`BatchHardTripletLoss` with a soft margin
    instead of a fixed one (Hermans et al. 2017, https://arxiv.org/abs/1703.07737)."""

    def __init__(self, model: Any, distance_metric: Any = "euclidean") -> None:
        super().__init__(model, distance_metric)

    batch_hard_triplet_soft_margin_loss = BatchTripletLoss.loss_of  # sentence-transformers' name

    def triplet_loss(self, distances: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        farthest_positive, nearest_negative = _hardest(distances, labels)
        return nn.functional.softplus(farthest_positive - nearest_negative).mean()

    def config(self) -> dict[str, Any]:
        return {"distance_metric": recorded_distance(self.distance_metric)}


@_document()
class BatchSemiHardTripletLoss(BatchTripletLoss):
    """``relu(d(a, p) - d(a, n) + margin)`` over (anchor, positive) pairs, with ``n`` the semi-hard negative:
    the nearest negative farther than the positive, or the farthest negative when none is (Schroff et al.
    2015, FaceNet, https://arxiv.org/abs/1503.03832). Averaged over the (anchor, positive) pairs.
    """

    batch_semi_hard_triplet_loss = BatchTripletLoss.loss_of  # sentence-transformers' name

    def triplet_loss(self, distances: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        n = len(labels)
        same = labels[:, None] == labels[None, :]
        # per anchor, its negatives' distances in increasing order (inf for the rows of its own class)
        ordered = distances.masked_fill(same, torch.inf).sort(dim=1, stable=True).values
        # for each (anchor, j): the first negative strictly farther than row j (inf if none)
        first = torch.searchsorted(ordered.detach().contiguous(), distances.detach().contiguous(), right=True)
        farther = ordered.gather(1, first.clamp(max=n - 1))
        # the farthest negative, as a masked maximum that keeps the gradient where it came from
        row_min = distances.min(dim=1, keepdim=True).values
        farthest = ((distances - row_min) * (~same).float()).max(dim=1, keepdim=True).values + row_min
        semi_hard = torch.where(torch.isfinite(farther), farther, farthest)  # (B, B)
        positive = same.float() - torch.eye(n, device=distances.device)
        losses = nn.functional.relu((distances - semi_hard + self.margin) * positive)
        return losses.sum() / positive.sum().clamp(min=1e-16)
