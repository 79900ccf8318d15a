"""Contrastive tension (CT): two copies of the encoder learn to agree on identical texts only.

Carlsson et al. 2021, Semantic Re-tuning with Contrastive Tension, https://openreview.net/forum?id=Ov_sMNau-PF:
unsupervised training on plain sentences. A second, independent copy of the encoder embeds the first text of
each pair; the model being trained embeds the second; both copies are trained.
"""

from __future__ import annotations

import copy
import math
import random
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from .._checks import check_positive_int
from .._errors import InputError
from .base import Features, Loss, check_binary, embed_columns
from .citations import CONTRASTIVE_TENSION
from .metrics import similarity_function, similarity_name


class _TwoEncoders:
    """What the contrastive tension losses share: they embed with two encoders, so they cannot run on
    embeddings computed elsewhere (MatryoshkaLoss, AdaptiveLayerLoss)."""

    def compute_loss_from_embeddings(self, embeddings: Any, labels: Any) -> torch.Tensor:
        raise InputError(
            f"{type(self).__name__} embeds with two encoders (a copy of the model and the model), so it "
            "cannot take embeddings computed elsewhere: train it on its own, not inside MatryoshkaLoss or "
            "AdaptiveLayerLoss."
        )

    def check_truncation(self, dims: Sequence[int]) -> None:
        self.compute_loss_from_embeddings(None, None)


def _registered(model: Any) -> nn.ModuleList:
    """The copy's torch modules, held by the loss so that they train with it: the trainer optimizes a loss's
    own parameters (and saves them in checkpoints), and ``loss.train()`` / ``loss.eval()`` reach them. The
    trainer switches the model only, so the copy keeps the mode it was made in (a freshly loaded model's
    encoder: eval, no dropout), as in sentence-transformers."""
    return nn.ModuleList(list(model))


class ContrastiveTensionLoss(_TwoEncoders, Loss):
    """Binary cross-entropy of telling identical pairs of texts from different ones, by the dot product of
    two encoders' embeddings.

    The first text of each pair is embedded by a copy of the model made when the loss is built, the second
    by the model itself; ``sigmoid(e1 . e2)`` should be 1 for a pair of identical texts and 0 otherwise. The
    losses of the pairs are summed. :class:`ContrastiveTensionLossInBatchNegatives` usually trains better.

    The pairs come from :class:`ContrastiveTensionDataLoader` (one identical pair for ``pos_neg_ratio - 1``
    different ones, labelled), or from any two text columns: without labels, a pair is positive when both
    texts have the same tokens.

    Args:
        model: the :class:`sbert.SentenceTransformer` to train (the copy, ``loss.model1``, is trained too but
            not kept).

    Requirements:
        Pairs of texts, some identical; a label (1 identical, 0 different) per pair or none.

    Inputs:

        +-------------------------------+-------------------+
        | Texts                         | Labels            |
        +===============================+===================+
        | (text_A, text_B) pairs        | none, or 1 / 0    |
        +-------------------------------+-------------------+

    Example::

        from sbert import ContrastiveTensionLoss, SentenceTransformer
        from sbert.losses import ContrastiveTensionDataLoader

        model = SentenceTransformer()
        sentences = open("sentences.txt").read().splitlines()
        loader = ContrastiveTensionDataLoader(sentences, batch_size=16, pos_neg_ratio=8)
        loss = ContrastiveTensionLoss(model)
        model.fit(train_objectives=[(loader, loss)], epochs=1, optimizer_params={"lr": 5e-5})
    """

    citation = CONTRASTIVE_TENSION

    min_columns = 2
    max_columns = 2

    def __init__(self, model: Any) -> None:
        super().__init__(model)
        self.model1 = copy.deepcopy(model)  # embeds the first text of each pair
        self.model1_modules = _registered(self.model1)
        self.criterion = nn.BCEWithLogitsLoss(reduction="sum")

    @property
    def model2(self) -> Any:
        """The model being trained (sentence-transformers' name for it in this loss)."""
        return self.model

    def forward(self, sentence_features: Sequence[Features], labels: torch.Tensor | None) -> torch.Tensor:
        first, second = _columns(sentence_features, 2, type(self).__name__)
        reps_1 = embed_columns(self.model1, [first])[0]  # (B, D)
        reps_2 = embed_columns(self.model, [second])[0]  # (B, D)
        scores = torch.bmm(reps_1[:, None], reps_2[:, :, None]).view(-1)  # (B,) dot products
        if labels is None:
            labels = same_tokens(first, second).to(scores.device)
        elif labels.numel() != scores.shape[0]:
            raise InputError(
                f"ContrastiveTensionLoss needs one 0/1 label per pair ({scores.shape[0]}), got "
                f"{labels.numel()}."
            )
        targets = labels.view(-1).to(device=scores.device, dtype=scores.dtype)
        return self.criterion(scores, targets)

    def check_data(self, n_columns: int, labels: Any, where: str) -> None:
        super().check_data(n_columns, None, where)
        if labels is None:  # pairs of identical texts are found from their tokens
            return
        labels = np.asarray(labels)
        meaning = "1 (identical texts) or 0 (different texts), or no label column at all"
        check_binary(labels, where, "ContrastiveTensionLoss", meaning)


class ContrastiveTensionLossInBatchNegatives(_TwoEncoders, Loss):
    """Contrastive tension with in-batch negatives: each text, embedded by a copy of the model, should find
    itself, embedded by the model, among every text of the batch (and the other way around).

    ``scores = similarity(copy(texts), model(texts)) * scale`` is a ``(B, B)`` matrix whose diagonal holds
    the identical pairs; the loss is the mean of the cross-entropies of its rows and of its columns. The
    scale is trained with the models (it starts at ``scale``, kept as its logarithm). Stronger than
    :class:`ContrastiveTensionLoss`, and stronger still with larger batches.

    Args:
        model: the :class:`sbert.SentenceTransformer` to train (the copy, ``loss.model1``, is trained too but
            not kept).
        scale: the starting inverse temperature of the softmax (default 20; trained).
        similarity_fct: similarity of two embedding matrices (default ``util.cos_sim``; with
            ``util.dot_score`` set ``scale=1``), or the name of one of ``sbert.util``'s.

    Requirements:
        One text column (plain sentences), no labels; batches without duplicate texts.

    Inputs:

        +------------------+--------+
        | Texts            | Labels |
        +==================+========+
        | single sentences | none   |
        +------------------+--------+

    Example::

        from sbert import (ContrastiveTensionLossInBatchNegatives, SentenceTransformer, Trainer,
                           TrainingArguments, load_dataset)

        model = SentenceTransformer()
        train = load_dataset("sentences.txt")
        args = TrainingArguments(output_dir="out", batch_size=64, learning_rate=5e-5)
        Trainer(model, train, ContrastiveTensionLossInBatchNegatives(model), args=args).train()
    """

    citation = CONTRASTIVE_TENSION

    min_columns = 1
    max_columns = None  # as sentence-transformers: a text column, any further ones left unused

    def __init__(self, model: Any, scale: float = 20.0, similarity_fct: Any = "cos_sim") -> None:
        super().__init__(model)
        name = type(self).__name__
        if not isinstance(scale, (int, float)) or isinstance(scale, bool) or not scale > 0:
            raise InputError(f"{name}: scale must be a positive number (e.g. 20), got {scale!r}.")
        self.similarity_fct = similarity_function(similarity_fct, name)
        self.cross_entropy_loss = nn.CrossEntropyLoss()
        self.model1 = copy.deepcopy(model)  # embeds the rows of the score matrix
        self.model1_modules = _registered(self.model1)
        self.criterion = nn.BCEWithLogitsLoss(reduction="sum")
        self.logit_scale = nn.Parameter(torch.tensor(math.log(scale), device=model.device))

    @property
    def model2(self) -> Any:
        """The model being trained (sentence-transformers' name for it in this loss)."""
        return self.model

    def forward(self, sentence_features: Sequence[Features], labels: torch.Tensor | None) -> torch.Tensor:
        # the first column (sentence-transformers' loss reads only that one: (s, s) pairs train as s)
        features = _columns(sentence_features, 1, type(self).__name__, more=True)[0]
        embeddings_1 = embed_columns(self.model1, [features])[0]  # (B, D)
        embeddings_2 = embed_columns(self.model, [features])[0]  # (B, D)
        scores = self.similarity_fct(embeddings_1, embeddings_2) * self.logit_scale.exp()  # (B, B)
        targets = torch.arange(len(scores), device=scores.device)
        return (self.cross_entropy_loss(scores, targets) + self.cross_entropy_loss(scores.T, targets)) / 2

    def config(self) -> dict[str, Any]:
        return {
            "scale": self.logit_scale.exp().item(),
            "similarity_fct": similarity_name(self.similarity_fct),
        }


def same_tokens(first: Features, second: Features) -> torch.Tensor:
    """``(B,)`` 1.0 where the two columns' rows hold the same tokens (padding ignored, wherever it is)."""
    ids_1, ids_2 = first["input_ids"], second["input_ids"]
    mask_1, mask_2 = first.get("attention_mask"), second.get("attention_mask")
    if mask_1 is None or mask_2 is None:
        if ids_1.shape != ids_2.shape:
            return torch.zeros(len(ids_1))
        return (ids_1 == ids_2).all(dim=1).float()
    same = [
        torch.equal(a[m.bool()], b[n.bool()])
        for a, m, b, n in zip(ids_1, mask_1, ids_2, mask_2.to(ids_2.device))
    ]
    return torch.tensor(same, dtype=torch.float32)


def _columns(
    sentence_features: Sequence[Features], n: int, name: str, *, more: bool = False
) -> list[Features]:
    """The ``n`` text columns a loss takes (``more``: at least ``n``), or an InputError naming them."""
    sentence_features = list(sentence_features)
    if len(sentence_features) < n or (len(sentence_features) > n and not more):
        wanted = ("one text column" if n == 1 else "pairs of texts (two columns)") + (
            " or more" if more else ""
        )
        raise InputError(f"{name} takes {wanted}, got {len(sentence_features)} columns.")
    return sentence_features


class ContrastiveTensionDataLoader:
    """Batches of contrastive-tension pairs from plain sentences, as sentence-transformers' loader makes them.

    Each pass shuffles ``sentences`` (the list itself, in place, with Python's ``random``) and walks through
    it: in every batch of ``batch_size`` pairs, pair ``i`` is a sentence with itself (label 1) when ``i`` is
    a multiple of ``pos_neg_ratio``, else a sentence with the next one (label 0). A batch is a list of
    :class:`sbert.InputExample`. ``model.fit(train_objectives=[(loader, ContrastiveTensionLoss(model))])``
    reads one pass of it as its training data, as sentence-transformers' ``fit`` does.

    Args:
        sentences: the training sentences (a list; other sequences are copied into one).
        batch_size: pairs per batch; a multiple of ``pos_neg_ratio``.
        pos_neg_ratio: one identical pair in every ``pos_neg_ratio`` pairs (default 8).
    """

    def __init__(self, sentences: Sequence[str], batch_size: int, pos_neg_ratio: int = 8) -> None:
        check_positive_int("batch_size", batch_size)
        check_positive_int("pos_neg_ratio", pos_neg_ratio)
        if batch_size % pos_neg_ratio:
            fitting = max(1, batch_size // pos_neg_ratio) * pos_neg_ratio
            raise InputError(
                f"ContrastiveTensionDataLoader: batch_size {batch_size} is not a multiple of pos_neg_ratio "
                f"{pos_neg_ratio}; choose e.g. batch_size={fitting}."
            )
        if isinstance(sentences, str) or not isinstance(sentences, Sequence):
            raise InputError(
                "ContrastiveTensionDataLoader: sentences must be a list of strings, got "
                f"{type(sentences).__name__}."
            )
        self.sentences = sentences if isinstance(sentences, list) else list(sentences)
        self.batch_size = batch_size
        self.pos_neg_ratio = pos_neg_ratio
        self.collate_fn: Any = None  # sentence-transformers' classic fit set one here

    def __len__(self) -> int:
        per_batch = 2 * self.batch_size - self.batch_size // self.pos_neg_ratio  # sentences a batch uses
        return len(self.sentences) // per_batch

    def __iter__(self) -> Iterator[Any]:
        from .._training.fit_inputs import InputExample

        random.shuffle(self.sentences)
        sentences = iter(self.sentences)
        for _ in range(len(self)):
            batch = []
            for i in range(self.batch_size):
                text = next(sentences)
                positive = i % self.pos_neg_ratio == 0
                batch.append(
                    InputExample(texts=[text, text if positive else next(sentences)], label=int(positive))
                )
            yield self.collate_fn(batch) if self.collate_fn is not None else batch
