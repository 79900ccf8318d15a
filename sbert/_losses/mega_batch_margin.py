"""MegaBatchMarginLoss: each anchor against its positive and the hardest other positive of a large batch."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import torch
from torch import nn

from .._errors import InputError
from .base import Features, cos_sim_matrix, embed_columns, user_overrides
from .cached_mixin import CachedSteps
from .citations import MEGA_BATCH_MARGIN
from .grad_cache import CachedLoss, slices


def margin_terms(
    embeddings: list[torch.Tensor], positive_margin: float, negative_margin: float, size: int
) -> Iterator[torch.Tensor]:
    """The loss as a sum of terms over slices of ``size`` anchors (each slice's graph stands alone).

    Anchor ``i`` adds ``relu(positive_margin - cos(a_i, p_i))`` and
    ``relu(max_j!=i cos(a_i, p_j) - negative_margin)``; the sum is divided by the batch size."""
    anchors, positives = embeddings
    n = anchors.shape[0]
    for begin, end in slices(n, size):
        scores = cos_sim_matrix(anchors[begin:end], positives)  # (m, B)
        rows = torch.arange(end - begin, device=scores.device)
        positive = scores[rows, rows + begin]  # (m,)
        own = torch.zeros_like(scores, dtype=torch.bool)
        own[rows, rows + begin] = True
        hardest = scores.masked_fill(own, -torch.inf).max(dim=1).values  # (m,): the closest other positive
        yield (
            nn.functional.relu(positive_margin - positive) + nn.functional.relu(hardest - negative_margin)
        ).sum() / n


class MegaBatchMarginLoss(CachedSteps, CachedLoss):
    """A margin loss on (anchor, positive) pairs, with each anchor's negative mined from the batch: the
    positive of another pair that is most similar to it.

    Anchor ``a_i`` should be closer than ``positive_margin`` (in cosine) to its positive ``p_i`` and farther
    than ``negative_margin`` from the hardest ``p_j`` (``j != i``); the loss is
    ``mean_i relu(positive_margin - cos(a_i, p_i)) + relu(max_j cos(a_i, p_j) - negative_margin)``. The
    negatives are only as hard as the batch is large, so it is meant for batches of 500 or more (the ParaNMT
    paper, Wieting & Gimpel 2018, https://aclanthology.org/P18-1042/). By default the batch is embedded with
    GradCache (see :class:`CachedMultipleNegativesRankingLoss`): the same loss and gradient with the memory
    of ``mini_batch_size`` rows, for about twice the encoder work.

    Args:
        model: the :class:`sbert.SentenceTransformer` to train.
        positive_margin: cosine each anchor should exceed with its positive (default 0.8).
        negative_margin: cosine each anchor should stay below with its hardest negative (default 0.3).
        use_mini_batched_version: embed with GradCache (default True); False embeds the batch in one graph.
        mini_batch_size: rows embedded at once, and anchors scored at once (default 50); it does not change
            the result.
        mini_batch_num_tokens: instead, embed consecutive rows holding at most this many real tokens
            together (a longer row alone), as sentence-transformers does; it does not change the result.
        show_progress_bar: show the embedding of each column's mini-batches.

    As in sentence-transformers, a subclass may override its GradCache steps, ``embed_minibatch``,
    ``embed_minibatch_iter`` and ``calculate_loss(reps, labels, *, with_backward=False)``.

    Requirements:
        (anchor, positive) pairs, no labels; large batches without duplicates.

    Inputs:

        +---------------------------+--------+
        | Texts                     | Labels |
        +===========================+========+
        | (anchor, positive) pairs  | none   |
        +---------------------------+--------+

    Example::

        from sbert import MegaBatchMarginLoss, SentenceTransformer, Trainer, TrainingArguments, load_dataset

        model = SentenceTransformer()
        train = load_dataset("paraphrases.tsv", columns=["sentence", "paraphrase"])
        args = TrainingArguments(output_dir="out", batch_size=500, batch_sampler="no_duplicates")
        Trainer(model, train, MegaBatchMarginLoss(model, mini_batch_size=32), args=args).train()
    """

    citation = MEGA_BATCH_MARGIN

    min_columns = 2
    max_columns = 2

    def __init__(
        self,
        model: Any,
        positive_margin: float = 0.8,
        negative_margin: float = 0.3,
        use_mini_batched_version: bool = True,
        mini_batch_size: int = 50,
        mini_batch_num_tokens: int | None = None,
        show_progress_bar: bool = False,
    ) -> None:
        super().__init__(
            model,
            mini_batch_size=mini_batch_size,
            mini_batch_num_tokens=mini_batch_num_tokens,
            show_progress_bar=show_progress_bar,
        )
        self.positive_margin = positive_margin
        self.negative_margin = negative_margin
        self.use_mini_batched_version = use_mini_batched_version
        self.uses_gradient_cache = use_mini_batched_version  # GradCache only in the mini-batched version

    def forward(self, sentence_features: Sequence[Features], labels: torch.Tensor | None) -> torch.Tensor:
        sentence_features = list(sentence_features)
        if len(sentence_features) != 2:
            raise InputError(  # sentence-transformers' first sentence, which scripts match
                f"MegaBatchMarginLoss expects exactly 2 input columns, (anchor, positive), but got "
                f"{len(sentence_features)}: it mines each anchor's negative from the other positives; for "
                "explicit negatives use CachedMultipleNegativesRankingLoss."
            )
        if self.use_mini_batched_version:
            return super().forward(sentence_features, labels)
        embeddings = embed_columns(self.model, sentence_features)
        if user_overrides(self, "calculate_loss"):  # a subclass's, on one "mini-batch" a column, as there
            return self.calculate_loss([[e] for e in embeddings])
        return torch.stack(list(self.loss_terms(embeddings, None, labels))).sum()

    def loss_terms(
        self, embeddings: list[torch.Tensor], guide: list[torch.Tensor] | None, labels: torch.Tensor | None
    ) -> Iterator[torch.Tensor]:
        # GradCache back-propagates and frees each slice's graph in turn, so slices of mini_batch_size anchors
        # bound its memory; in one graph, or without one, slices would only add calls (and, with a graph,
        # a normalized copy of the positives each): then the whole batch is one slice
        sliced = self.use_mini_batched_version and torch.is_grad_enabled()
        size = self.mini_batch_size if sliced else max(1, embeddings[0].shape[0])
        return margin_terms(embeddings, self.positive_margin, self.negative_margin, size)

    def config(self) -> dict[str, Any]:
        return {
            "positive_margin": self.positive_margin,
            "negative_margin": self.negative_margin,
            "mini_batch_size": self.mini_batch_size,
            "mini_batch_num_tokens": self.mini_batch_num_tokens,
        }
