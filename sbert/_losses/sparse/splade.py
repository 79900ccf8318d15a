"""SpladeLoss: a SPLADE model's training loss, a ranking or distillation loss plus FLOPS regularizers."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from ..._errors import InputError, warn_at_caller
from ..base import Features, Loss, embed_columns
from ..citations import SPLADE
from .flops import FlopsLoss
from .inner import WrapsInnerLoss


class SpladeLoss(WrapsInnerLoss, Loss):
    """The loss of SPLADE training (Formal et al. 2022): an inner loss on the batch's sparse embeddings, plus
    a regularizer on the query embeddings (the first column) and one on the documents (the other columns),
    each times its weight. The regularizers (FLOPS by default) push most vocabulary weights to zero, which is
    what makes the embeddings fast to search; the weights trade that sparsity against retrieval quality.

    The trainer logs each part (``base_loss``, ``document_regularizer_loss``, ``query_regularizer_loss``) and
    sums them; :class:`~sbert.sparse_encoder.SparseEncoderTrainer` raises the two weights from 0 to the values
    given here over the first third of the run (``SpladeRegularizerWeightSchedulerCallback``), as
    sentence-transformers' trainer does.

    Args:
        model: the :class:`sbert.SparseEncoder` to train.
        loss: the inner loss, one of :mod:`sbert.sparse_encoder.losses`
            (``SparseMultipleNegativesRankingLoss``, ``SparseMarginMSELoss``, ...) or any object with
            ``compute_loss_from_embeddings(embeddings, labels)``.
        document_regularizer_weight: the documents' regularizer weight ("lambda_d"); with
            ``use_document_regularizer_only``, every column's.
        query_regularizer_weight: the queries' regularizer weight ("lambda_q"); None: queries are not
            regularized (an inference-free model, whose queries need no encoder, warns otherwise).
        document_regularizer, query_regularizer: other regularizers than ``FlopsLoss`` (objects with
            ``compute_loss_from_embeddings(embeddings)``).
        document_regularizer_threshold, query_regularizer_threshold: the default ``FlopsLoss``'s threshold:
            only embeddings with more active entries than this are regularized.
        use_document_regularizer_only: treat every column as documents (symmetric data: pairs of sentences),
            one regularizer over all of them; ``query_regularizer_weight`` is then ignored.

    Inputs: those of the inner loss.

    Example::

        from datasets import Dataset
        from sbert.sparse_encoder import SparseEncoder, SparseEncoderTrainer, losses

        model = SparseEncoder("distilbert/distilbert-base-uncased")
        train = Dataset.from_dict({"query": ["What is a cat?"], "answer": ["Cats are small felines."]})
        loss = losses.SpladeLoss(model, loss=losses.SparseMultipleNegativesRankingLoss(model),
                                 document_regularizer_weight=3e-5, query_regularizer_weight=5e-5)
        SparseEncoderTrainer(model=model, train_dataset=train, loss=loss).train()

    References:
        From Distillation to Hard Negative Sampling: Making Sparse Neural IR Models More Effective,
        https://arxiv.org/abs/2205.04733
    """

    citation = SPLADE

    min_columns = 1
    max_columns = None
    wraps_loss = True
    loss_components = True

    def __init__(
        self,
        model: Any,
        loss: nn.Module,
        document_regularizer_weight: float,
        query_regularizer_weight: float | None = None,
        document_regularizer: nn.Module | None = None,
        query_regularizer: nn.Module | None = None,
        document_regularizer_threshold: int | None = None,
        query_regularizer_threshold: int | None = None,
        use_document_regularizer_only: bool = False,
    ) -> None:
        super().__init__(model)
        if not hasattr(loss, "compute_loss_from_embeddings"):
            raise InputError(
                f"SpladeLoss needs an inner loss with compute_loss_from_embeddings(embeddings, labels), got "
                f"{type(loss).__name__}; use one of sbert.sparse_encoder.losses, e.g. "
                "SparseMultipleNegativesRankingLoss(model)."
            )
        _check_weight("document_regularizer_weight", document_regularizer_weight, optional=False)
        _check_weight("query_regularizer_weight", query_regularizer_weight, optional=True)
        self.loss = loss
        self.document_regularizer_weight = document_regularizer_weight
        self.query_regularizer_weight = query_regularizer_weight
        self.use_document_regularizer_only = use_document_regularizer_only
        if document_regularizer is None:
            document_regularizer = FlopsLoss(model, threshold=document_regularizer_threshold)
        self.document_regularizer = document_regularizer
        self.query_regularizer = query_regularizer
        if query_regularizer is None and not use_document_regularizer_only:
            self.query_regularizer = FlopsLoss(model, threshold=query_regularizer_threshold)
        if query_regularizer_weight is None and not use_document_regularizer_only:
            warn_at_caller(
                "SpladeLoss: query_regularizer_weight is None, so queries are not regularized. That suits an "
                "inference-free model; otherwise give a query_regularizer_weight > 0 (e.g. 5e-5)."
            )
        if use_document_regularizer_only and query_regularizer_weight is not None:
            warn_at_caller(
                "SpladeLoss: use_document_regularizer_only=True regularizes every column as documents, so "
                "query_regularizer_weight is ignored; leave it None."
            )
            self.query_regularizer_weight = None

    def forward(  # type: ignore[override]
        self, sentence_features: list[Features], labels: torch.Tensor | None
    ) -> dict[str, torch.Tensor]:
        # every column a document: no query column to embed on its own (sentence-transformers' forwards)
        separate_first = not self.use_document_regularizer_only
        embeddings = embed_columns(self.model, sentence_features, separate_first=separate_first)
        return self.compute_loss_from_embeddings(embeddings, labels)

    def compute_loss_from_embeddings(  # type: ignore[override]
        self, embeddings: list[torch.Tensor], labels: torch.Tensor | None
    ) -> dict[str, torch.Tensor]:
        """The parts of the loss, by name (the trainer sums them): the inner loss's (``base_loss``, or its own
        named parts), then the weighted regularizers."""
        parts: dict[str, torch.Tensor] = {}
        base = self.loss.compute_loss_from_embeddings(embeddings, labels)
        if isinstance(base, Mapping):
            parts.update(base)
        else:
            parts["base_loss"] = base
        documents = embeddings if self.use_document_regularizer_only else embeddings[1:]
        regularized = self.document_regularizer.compute_loss_from_embeddings(torch.cat(documents))
        parts["document_regularizer_loss"] = regularized * self.document_regularizer_weight
        if self.query_regularizer_weight is not None:
            regularized = self.query_regularizer.compute_loss_from_embeddings(embeddings[0])
            parts["query_regularizer_loss"] = regularized * self.query_regularizer_weight
        return parts

    def check_data(self, n_columns: int, labels: Any, where: str) -> None:
        """The inner loss's checks; and a column of documents to regularize."""
        if n_columns < 2 and not self.use_document_regularizer_only:
            raise InputError(
                f"{where}: SpladeLoss regularizes the first text column as queries and the others as "
                "documents, and the data has one text column: pass use_document_regularizer_only=True to "
                "regularize it as documents."
            )
        super().check_data(n_columns, labels, where)

    def get_config_dict(self) -> dict[str, Any]:
        """sentence-transformers' record: as :meth:`config`, with the inner loss module itself (sbert's card
        records its description)."""
        return {**self.config(), "loss": self.loss}

    def config(self) -> dict[str, Any]:
        """sentence-transformers' record of the loss: the inner loss, the weights, any regularizer other than
        FLOPS and any threshold."""
        describe = getattr(self.loss, "describe", None)
        config: dict[str, Any] = {
            "loss": describe() if callable(describe) else type(self.loss).__name__,
            "document_regularizer_weight": self.document_regularizer_weight,
        }
        if self.query_regularizer_weight is not None:
            config["query_regularizer_weight"] = self.query_regularizer_weight
        for side in ("document", "query"):
            regularizer = getattr(self, f"{side}_regularizer")
            if regularizer is None:
                continue
            if not isinstance(regularizer, FlopsLoss):
                config[f"{side}_regularizer"] = type(regularizer).__name__
            if getattr(regularizer, "threshold", None) is not None:
                config[f"{side}_regularizer_threshold"] = regularizer.threshold
        return config


def _check_weight(name: str, value: Any, *, optional: bool) -> None:
    if value is None and optional:
        return
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not (number and math.isfinite(value) and value >= 0):
        raise InputError(f"SpladeLoss: {name} must be a number >= 0 (e.g. 3e-5), got {value!r}.")
