"""CachedMultipleNegativesRankingLoss: in-batch negatives at batch sizes too big for one graph (GradCache)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import torch
from torch import nn

from .._errors import InputError
from .grad_cache import CachedLoss, slices


def ranking_terms(
    embeddings: list[torch.Tensor], scale: float, size: int, *, symmetric: bool = False
) -> Iterator[torch.Tensor]:
    """MultipleNegativesRankingLoss as a sum of terms over slices of ``size`` anchors.

    Anchor ``i``'s term is ``log Z_i - scale * cos(a_i, p_i)``, Z_i summing ``exp(scale * cos)`` over every
    candidate (positives and hard negatives of the whole batch); ``symmetric`` averages ``log Z_i`` with that
    of positive ``p_i`` ranking all anchors. Each slice normalizes again, so that its graph stands alone.
    """
    anchors, candidates = embeddings[0], torch.cat(embeddings[1:])  # (B, D), (B * (1 + negatives), D)
    n = anchors.shape[0]
    for begin, end in slices(n, size):
        a = nn.functional.normalize(anchors, p=2, dim=1)
        c = nn.functional.normalize(candidates, p=2, dim=1)
        scores = a[begin:end] @ c.T * scale  # (m, B * (1 + negatives))
        rows = torch.arange(end - begin, device=scores.device)
        positive = scores[rows, rows + begin]  # (m,)
        log_z = torch.logsumexp(scores, dim=1)
        if symmetric:  # positive j ranks the anchors: the same positive score, its own normalizer
            backward = c[begin:end] @ a.T * scale  # (m, B)
            log_z = (log_z + torch.logsumexp(backward, dim=1)) / 2
        yield (log_z - positive).sum() / n


def check_scale(scale: float, name: str) -> None:
    if not scale > 0:
        raise InputError(f"{name}: scale must be positive (e.g. 20), got {scale!r}.")


class CachedMultipleNegativesRankingLoss(CachedLoss):
    """:class:`MultipleNegativesRankingLoss` with GradCache: the same loss and gradient at batch size B, with
    the memory of one mini-batch.

    In-batch negatives train better with more of them, i.e. with larger batches, but a batch's activations
    must fit in memory. This loss embeds the batch in mini-batches without keeping their graphs, computes
    the ranking loss and its gradient with respect to the embeddings on the whole batch, then re-embeds one
    mini-batch at a time with its graph (replaying its random state, so the dropout masks match) and
    back-propagates the cached gradient (Gao et al. 2021, https://arxiv.org/abs/2101.06983). Each step
    runs the encoder's forward twice, so it is slower than the plain loss at a batch size both can hold.

    Args:
        model: the :class:`sbert.SentenceTransformer` to train.
        scale: inverse temperature of the softmax over cosine similarities (default 20).
        mini_batch_size: rows embedded at once (default 32): memory grows with it, speed little beyond it.
            It does not change the result.
        show_progress_bar: show the embedding of each column's mini-batches.

    Requirements:
        (anchor, positive) pairs, or (anchor, positive, negative_1, ..., negative_n) with hard negatives;
        batches without duplicate texts (a duplicate is a false negative); a large batch size (256 or more).

    Inputs:

        +-------------------------------------------------+--------+
        | Texts                                           | Labels |
        +=================================================+========+
        | (anchor, positive) pairs                        | none   |
        +-------------------------------------------------+--------+
        | (anchor, positive, negative_1, ..., negative_n) | none   |
        +-------------------------------------------------+--------+

    Example::

        from sbert import (CachedMultipleNegativesRankingLoss, SentenceTransformer, Trainer,
                           TrainingArguments, load_dataset)

        model = SentenceTransformer()
        train = load_dataset("pairs.tsv", columns=["query", "positive"])
        loss = CachedMultipleNegativesRankingLoss(model, mini_batch_size=32)
        Trainer(model, train, loss, args=TrainingArguments(output_dir="out", batch_size=512)).train()
    """

    symmetric = False

    def __init__(
        self,
        model: Any,
        scale: float = 20.0,
        *,
        mini_batch_size: int = 32,
        show_progress_bar: bool = False,
    ) -> None:
        super().__init__(model, mini_batch_size=mini_batch_size, show_progress_bar=show_progress_bar)
        check_scale(scale, type(self).__name__)
        self.scale = scale

    def loss_terms(
        self, embeddings: list[torch.Tensor], guide: list[torch.Tensor] | None, labels: torch.Tensor | None
    ) -> Iterator[torch.Tensor]:
        return ranking_terms(embeddings, self.scale, self.mini_batch_size, symmetric=self.symmetric)

    def config(self) -> dict[str, Any]:
        return {"scale": self.scale, "similarity_fct": "cos_sim", "mini_batch_size": self.mini_batch_size}
