"""CachedMultipleNegativesRankingLoss: in-batch negatives at batch sizes too big for one graph (GradCache)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import torch

from .cached_mixin import CachedSteps
from .citations import GRADCACHE
from .grad_cache import CachedLoss
from .multiple_negatives_ranking import MultipleNegativesRankingLoss
from .ranking import check_scale


def _wrapped_option(name: str) -> property:
    """The wrapped loss's option ``name``, read there (set there by the class's ``__setattr__``)."""
    return property(lambda self: getattr(self.loss, name))


class CachedMultipleNegativesRankingLoss(CachedSteps, CachedLoss):
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

    As in sentence-transformers, a subclass may override its GradCache steps, ``embed_minibatch``,
    ``embed_minibatch_iter`` and ``calculate_loss(reps, labels, *, with_backward=False)``: the loss then
    runs them, on mini-batches of rows in input order.

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

    # the options the wrapped MultipleNegativesRankingLoss (``loss``) holds: read there, and set there (a
    # similarity module too, which torch would otherwise register on this loss), as in sentence-transformers
    _WRAPPED_OPTIONS = frozenset(
        {
            "scale",
            "similarity_fct",
            "gather_across_devices",
            "directions",
            "partition_mode",
            "hardness_mode",
            "hardness_strength",
        }
    )
    scale = _wrapped_option("scale")
    similarity_fct = _wrapped_option("similarity_fct")
    gather_across_devices = _wrapped_option("gather_across_devices")
    directions = _wrapped_option("directions")
    partition_mode = _wrapped_option("partition_mode")
    hardness_mode = _wrapped_option("hardness_mode")
    hardness_strength = _wrapped_option("hardness_strength")

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
        check_scale(scale, type(self).__name__)
        # As sentence-transformers 6.3: the wrapped loss holds and checks the options (its ``loss``, which its
        # model card cites too); this class adds the gradient caching and the sliced loss terms.
        self.loss = MultipleNegativesRankingLoss(
            model,
            scale=scale,
            similarity_fct=similarity_fct,
            gather_across_devices=gather_across_devices,
            directions=directions,
            partition_mode=partition_mode,
            hardness_mode=hardness_mode,
            hardness_strength=hardness_strength,
        )
        self.collective = gather_across_devices  # every process must join each step's exchange

    def __setattr__(self, name: str, value: Any) -> None:
        if name in self._WRAPPED_OPTIONS and "loss" in self.__dict__.get("_modules", {}):
            setattr(self.loss, name, value)
        else:
            super().__setattr__(name, value)

    @property
    def temperature(self) -> float:
        return 1.0 / self.scale

    @property
    def citation(self) -> str:
        return GRADCACHE  # sentence-transformers' cached loss cites GradCache, whatever its options

    def loss_terms(
        self, embeddings: list[torch.Tensor], guide: list[torch.Tensor] | None, labels: torch.Tensor | None
    ) -> Iterator[torch.Tensor]:
        return self.loss.sliced_terms(embeddings, self.mini_batch_size)

    def config(self) -> dict[str, Any]:
        wrapped = self.loss.config()  # the wrapped loss's options, the mini-batch sizes after the similarity
        first = {key: wrapped.pop(key) for key in ("scale", "similarity_fct")}
        return {
            **first,
            "mini_batch_size": self.mini_batch_size,
            "mini_batch_num_tokens": self.mini_batch_num_tokens,
            **wrapped,
        }
