"""SoftmaxLoss: a classifier over (u, v, |u - v|), the loss Sentence-BERT was trained with on NLI."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from .._errors import InputError
from .._modules.config_module import renamed_keywords
from .base import Loss, check_finite, embed_columns, stacked_labels
from .citations import SENTENCE_BERT


class SoftmaxLoss(Loss):
    """Cross-entropy of a linear classifier on the concatenation ``(u, v, |u - v|)`` of the two embeddings.

    The loss of the Sentence-BERT paper (https://arxiv.org/abs/1908.10084): BERT trained as a siamese
    network on SNLI + MultiNLI with this classifier on top gave bert-base-nli-mean-tokens. The classifier is
    thrown away after training; only the encoder is kept. :class:`MultipleNegativesRankingLoss` on
    (anchor, entailment) pairs usually gives better embeddings from the same data.

    Args:
        model: the :class:`sbert.SentenceTransformer` to train.
        embedding_dimension: the model's embedding size (default:
            ``model.get_sentence_embedding_dimension()``).
        num_labels: number of classes (3 for NLI: entailment, neutral, contradiction).
        concatenation_sent_rep: include ``u`` and ``v`` in the classifier input (default True).
        concatenation_sent_difference: include ``|u - v|`` (default True).
        concatenation_sent_multiplication: include ``u * v`` (default False).
        loss_fct: the loss on ``(logits, labels)`` (default ``nn.CrossEntropyLoss()``); another one gets the
            labels as they are, e.g. ``num_labels=1, loss_fct=lambda logits, y: mse_loss(logits[:, 0], y)``.

    Requirements:
        Pairs of texts with an integer class label in ``[0, num_labels)``.

    Inputs:

        +---------------------------+--------------------+
        | Texts                     | Labels             |
        +===========================+====================+
        | (sentence_A, sentence_B)  | class id (int)     |
        +---------------------------+--------------------+

    Example::

        from sbert import SentenceTransformer, SoftmaxLoss, Trainer, TrainingArguments, load_dataset

        model = SentenceTransformer()
        train = load_dataset("nli/snli_dev.tsv", columns=["sentence1", "sentence2"], label="label")
        loss = SoftmaxLoss(model, num_labels=len(train.label_names))
        Trainer(model, train, loss, args=TrainingArguments(output_dir="out", batch_size=16)).train()
    """

    citation = SENTENCE_BERT

    label_kind = "class"

    # sentence-transformers' older keyword, its rename logged as there
    @renamed_keywords(sentence_embedding_dimension="embedding_dimension")
    def __init__(
        self,
        model: Any,
        embedding_dimension: int | None = None,
        num_labels: int = 3,
        concatenation_sent_rep: bool = True,
        concatenation_sent_difference: bool = True,
        concatenation_sent_multiplication: bool = False,
        loss_fct: Any = None,
    ) -> None:
        super().__init__(model)
        dim = embedding_dimension or model.full_embedding_dimension
        # one output is a regression head, which only a loss_fct of the user's own can train (cross-entropy
        # over one class is always 0)
        least = 1 if loss_fct is not None else 2
        if not isinstance(num_labels, int) or isinstance(num_labels, bool) or num_labels < least:
            hint = (
                " (num_labels=1, a regression head, needs a loss_fct such as nn.MSELoss())"
                if least == 2
                else ""
            )
            raise InputError(f"num_labels must be an int >= {least}{hint}, got {num_labels!r}")
        self.num_labels = num_labels
        self.embedding_dimension = dim
        self.concatenation_sent_rep = concatenation_sent_rep
        self.concatenation_sent_difference = concatenation_sent_difference
        self.concatenation_sent_multiplication = concatenation_sent_multiplication
        n_vectors = (
            2 * concatenation_sent_rep + concatenation_sent_difference + concatenation_sent_multiplication
        )
        if n_vectors == 0:
            raise InputError(
                "SoftmaxLoss needs at least one of u/v, |u - v| or u * v in the classifier input."
            )
        self.classifier = nn.Linear(n_vectors * dim, num_labels, device=model.device)
        self.loss_fct = loss_fct if loss_fct is not None else nn.CrossEntropyLoss()

    @property
    def takes_classes(self) -> bool:
        """Whether the labels are class ids (or class distributions) for a cross-entropy; any other
        ``loss_fct`` gets them unchecked and uncast, as in sentence-transformers."""
        return isinstance(self.loss_fct, nn.CrossEntropyLoss)

    def features(self, u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        """The classifier input ``(B, n * D)``: [u, v, |u - v|, u * v] as configured."""
        parts = [u, v] if self.concatenation_sent_rep else []
        if self.concatenation_sent_difference:
            parts.append(torch.abs(u - v))
        if self.concatenation_sent_multiplication:
            parts.append(u * v)
        return torch.cat(parts, dim=1).to(self.classifier.weight.dtype)

    def logits(self, sentence_features: list[dict[str, torch.Tensor]]) -> torch.Tensor:
        """Class scores ``(B, num_labels)`` for a batch of pairs (to measure the classifier's accuracy)."""
        u, v = embed_columns(self.model, sentence_features)
        return self.classifier(self.features(u, v))

    def forward(
        self, sentence_features: Sequence[dict[str, torch.Tensor]], labels: torch.Tensor | None
    ) -> Any:
        """The loss; without labels, sentence-transformers' ``(embeddings, logits)`` (to predict)."""
        if labels is None:
            u, v = embed_columns(self.model, sentence_features)
            return [u, v], self.classifier(self.features(u, v))
        return super().forward(sentence_features, labels)

    def compute_loss_from_embeddings(
        self, embeddings: list[torch.Tensor], labels: torch.Tensor | None
    ) -> torch.Tensor:
        u, v = embeddings
        logits = self.classifier(self.features(u, v))  # (B, num_labels)
        if isinstance(labels, (list, tuple)):  # the Trainer's form of a label column of lists
            labels = torch.stack([torch.as_tensor(row) for row in labels]).to(logits.device)
        if not self.takes_classes:
            # a loss of the user's own gets the labels as sentence-transformers gives them: flattened
            # unless one row per logit row, and in their own dtype (float scores stay scores)
            if self.num_labels == 1 or labels.shape != logits.shape:
                labels = labels.view(-1)
            return self.loss_fct(logits, labels)
        if labels.is_floating_point() and labels.shape == logits.shape and self.num_labels > 1:
            # a distribution over the classes per row (soft or one-hot labels), as sentence-transformers
            return self.loss_fct(logits, labels.to(logits.dtype))
        return self.loss_fct(logits, labels.view(-1).long())

    def check_labels(self, labels: np.ndarray, where: str) -> None:
        labels = stacked_labels(labels, where, "SoftmaxLoss")
        if not self.takes_classes:  # the user's loss_fct decides what its labels mean
            check_finite(labels, where, "SoftmaxLoss")
            return
        if labels.ndim == 2 and labels.dtype.kind == "f":  # class probabilities, one row per example
            check_finite(labels, where, "SoftmaxLoss")
            if labels.shape[1] != self.num_labels or (labels < 0).any():
                raise InputError(
                    f"{where}: SoftmaxLoss takes class probabilities as {self.num_labels} non-negative "
                    f"numbers a row (num_labels={self.num_labels}); the labels have {labels.shape[1]} a row."
                )
            return
        if labels.dtype.kind not in "iu":
            raise InputError(
                f"{where}: SoftmaxLoss needs integer class ids (or class probabilities, one row of "
                f"{self.num_labels} a example), got {labels.dtype} labels."
            )
        bad = np.flatnonzero((labels < 0) | (labels >= self.num_labels))
        if len(bad):
            raise InputError(
                f"{where}: row {bad[0]} has class {labels[bad[0]]}, outside [0, {self.num_labels}) "
                f"for num_labels={self.num_labels}."
            )

    def check_truncation(self, dims: Sequence[int]) -> None:
        other = [d for d in dims if d != self.embedding_dimension]
        if other:
            raise InputError(
                f"MatryoshkaLoss cannot wrap this SoftmaxLoss at sizes {other}: its classifier takes "
                f"{self.classifier.in_features} inputs, built from {self.embedding_dimension}-dimensional "
                "embeddings, and truncated embeddings give fewer (sentence-transformers' MatryoshkaLoss "
                "fails the same way, with a shape error). Use "
                f"matryoshka_dims=[{self.embedding_dimension}], give SoftmaxLoss(model, "
                "embedding_dimension=D) for a classifier on the first D dimensions, or train the smaller "
                "sizes with a similarity loss as a second objective, e.g. Trainer(model, "
                "{'nli': nli, 'pairs': pairs}, {'nli': SoftmaxLoss(model), 'pairs': MatryoshkaLoss(model, "
                "MultipleNegativesRankingLoss(model), [384, 256, 128, 64])}, ...)."
            )

    def config(self) -> dict[str, Any]:
        keys = (
            "num_labels",
            *(f"concatenation_sent_{part}" for part in ("rep", "difference", "multiplication")),
        )
        return {key: getattr(self, key) for key in keys}
