"""CachedMultipleNegativesRankingLoss: in-batch negatives at batch sizes too big for one graph (GradCache)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import torch
from torch import nn

from .._errors import InputError
from .base import cos_sim_matrix, refuse_options
from .gathering import empty_term, gather_rows
from .grad_cache import CachedLoss, slices
from .metrics import custom_similarity, recorded_similarity

# sentence-transformers 6's newer options, which sbert takes at their defaults, and in the one other
# combination its MultipleNegativesSymmetricRankingLoss is (which sentence-transformers 6 deprecates for it)
NEWER_OPTIONS = {
    "directions": ("query_to_doc",),
    "partition_mode": "joint",
    "hardness_mode": None,
    "hardness_strength": 0.0,
}
SYMMETRIC_DIRECTIONS = {"directions": ("query_to_doc", "doc_to_query"), "partition_mode": "per_direction"}
SYMMETRIC_OPTIONS = {**NEWER_OPTIONS, **SYMMETRIC_DIRECTIONS}


def ranks_both_directions(
    loss: str, directions: Any, partition_mode: str, hardness_mode: str | None, hardness_strength: float
) -> bool:
    """Whether the newer options ask for the symmetric loss (query_to_doc and doc_to_query, each with its own
    softmax); other values than those two combinations are refused, naming what sbert has."""
    given = dict(zip(NEWER_OPTIONS, (tuple(directions), partition_mode, hardness_mode, hardness_strength)))
    both = set(given["directions"]) == set(SYMMETRIC_DIRECTIONS["directions"])
    if both and partition_mode == "per_direction":
        given["directions"] = SYMMETRIC_DIRECTIONS["directions"]  # in either order
        refuse_options(loss, given, SYMMETRIC_OPTIONS, "hard-negative weighting is not implemented.")
        return True
    refuse_options(
        loss,
        given,
        NEWER_OPTIONS,
        "sbert ranks query_to_doc, or both directions with directions=('query_to_doc', 'doc_to_query') and "
        "partition_mode='per_direction' (MultipleNegativesSymmetricRankingLoss).",
    )
    return False


def ranking_terms(
    embeddings: list[torch.Tensor],
    scale: float,
    size: int,
    *,
    symmetric: bool = False,
    similarity: Callable[..., torch.Tensor] | None = None,
    gather_across_devices: bool = False,
) -> Iterator[torch.Tensor]:
    """MultipleNegativesRankingLoss as a sum of terms over slices of ``size`` anchors.

    Anchor ``i``'s term is ``log Z_i - scale * cos(a_i, p_i)``, Z_i summing ``exp(scale * cos)`` over every
    candidate (positives and hard negatives of the whole batch); ``symmetric`` averages ``log Z_i`` with that
    of positive ``p_i`` ranking all anchors. Each slice normalizes again, so that its graph stands alone.
    ``similarity``: another score than the cosine (a ``similarity_fct``), called on the raw embeddings.
    ``gather_across_devices``: the candidates (and, for ``symmetric``, the anchors) are every process's.
    """
    anchors, n = embeddings[0], embeddings[0].shape[0]  # (B, D): this process's anchors
    columns, offset = gather_rows(embeddings[1:], gather_across_devices)
    candidates = torch.cat(columns)  # (B_all * (1 + negatives), D)
    everyone = gather_rows([anchors], gather_across_devices and symmetric)[0][0]  # (B_all, D)
    if n == 0:  # no rows here this step
        yield empty_term([candidates, everyone])
    for begin, end in slices(n, size):
        own = slice(offset + begin, offset + end)  # these anchors' positives among the candidates
        if similarity is None:
            a = nn.functional.normalize(anchors, p=2, dim=1)
            c = nn.functional.normalize(candidates, p=2, dim=1)
            scores = a[begin:end] @ c.T * scale  # (m, B_all * (1 + negatives))
        else:
            scores = similarity(anchors[begin:end], candidates) * scale
        rows = torch.arange(end - begin, device=scores.device)
        positive = scores[rows, rows + own.start]  # (m,)
        log_z = torch.logsumexp(scores, dim=1)
        if symmetric:  # positive j ranks the anchors: the same positive score, its own normalizer
            if similarity is None:
                backward = c[own] @ nn.functional.normalize(everyone, p=2, dim=1).T * scale  # (m, B_all)
            else:  # as sentence-transformers: the forward scores sim(anchor, positive), transposed
                backward = similarity(everyone, candidates[own]).T * scale
            log_z = (log_z + torch.logsumexp(backward, dim=1)) / 2
        yield (log_z - positive).sum() / n


def symmetric_ranking_loss(
    embeddings: list[torch.Tensor],
    scale: float,
    similarity: Callable[..., torch.Tensor] | None,
    gather_across_devices: bool,
) -> torch.Tensor:
    """MultipleNegativesSymmetricRankingLoss in one term (the whole batch's anchors in one slice)."""
    rows = max(1, embeddings[0].shape[0])
    (loss,) = ranking_terms(
        embeddings,
        scale,
        rows,
        symmetric=True,
        similarity=similarity,
        gather_across_devices=gather_across_devices,
    )
    return loss


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
        similarity_fct: the score of two embedding tensors (default cosine, ``util.cos_sim``), as
            :class:`MultipleNegativesRankingLoss` takes it.
        mini_batch_size: rows embedded at once (default 32): memory grows with it, speed little beyond it.
            It does not change the result.
        mini_batch_num_tokens: instead, embed consecutive rows holding at most this many real tokens together
            (a longer row alone), as sentence-transformers 6.3 does: a bound on memory when lengths vary.
            It does not change the result either.
        gather_across_devices: under DDP (torchrun), rank against every process's candidates (and anchors,
            for the symmetric loss), with gradients, as :class:`MultipleNegativesRankingLoss` does; in one
            process the same loss as False.
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
        similarity_fct: Any = None,
        mini_batch_size: int = 32,
        mini_batch_num_tokens: int | None = None,
        gather_across_devices: bool = False,
        directions: tuple[str, ...] = ("query_to_doc",),
        partition_mode: str = "joint",
        show_progress_bar: bool = False,
        hardness_mode: str | None = None,
        hardness_strength: float = 0.0,
    ) -> None:
        super().__init__(
            model,
            mini_batch_size=mini_batch_size,
            mini_batch_num_tokens=mini_batch_num_tokens,
            show_progress_bar=show_progress_bar,
        )
        name = type(self).__name__
        check_scale(scale, name)
        if ranks_both_directions(name, directions, partition_mode, hardness_mode, hardness_strength):
            self.symmetric = True
        self.scale = scale
        self._similarity = custom_similarity(similarity_fct, "cos_sim", name)
        self.similarity_fct = self._similarity or cos_sim_matrix
        self.gather_across_devices = gather_across_devices
        self.collective = gather_across_devices  # every process must join each step's exchange

    def loss_terms(
        self, embeddings: list[torch.Tensor], guide: list[torch.Tensor] | None, labels: torch.Tensor | None
    ) -> Iterator[torch.Tensor]:
        return ranking_terms(
            embeddings,
            self.scale,
            self.mini_batch_size,
            symmetric=self.symmetric,
            similarity=self._similarity,
            gather_across_devices=self.gather_across_devices,
        )

    def config(self) -> dict[str, Any]:
        return {
            "scale": self.scale,
            "similarity_fct": recorded_similarity(self._similarity, "cos_sim"),
            "mini_batch_size": self.mini_batch_size,
            "mini_batch_num_tokens": self.mini_batch_num_tokens,
            "gather_across_devices": self.gather_across_devices,
        }
