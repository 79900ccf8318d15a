"""ListNetLoss: listwise learning to rank (Cao et al. 2007), the cross-entropy between the label and score
distributions over a query's documents, as sentence-transformers' cross-encoder ``ListNetLoss``."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ..citations import LIST_NET
from .listwise import ListwiseLoss


class ListNetLoss(ListwiseLoss):
    """Listwise ranking loss: per query, ``softmax(labels)`` over its documents is the target distribution
    and ``softmax(scores)`` the predicted one; the loss is their cross-entropy, averaged over the queries.
    Padding of shorter lists gets no mass on either side. :class:`LambdaLoss` takes the same data and
    usually ranks better.

    Args:
        model: the :class:`sbert.CrossEncoder` to train (one output label).
        activation_fn: applied to the logits first (default Identity).
        mini_batch_size: (query, document) pairs per forward call (default: the batch size; ``<= 0``: all
            pairs at once).

    Inputs:

        +----------------------------------------+--------------------------------+
        | Texts                                  | Labels                         |
        +========================================+================================+
        | (query, [doc_1, ..., doc_n])           | [score_1, ..., score_n]        |
        +----------------------------------------+--------------------------------+

    Labels may be binary or graded; lists may differ in length.

    Example::

        from sbert import CrossEncoder, load_dataset
        from sbert.cross_encoder import CrossEncoderTrainer, CrossEncoderTrainingArguments
        from sbert.cross_encoder.losses import ListNetLoss

        model = CrossEncoder("path/to/encoder", num_labels=1)
        train = load_dataset([{"query": "what is a cat?", "docs": ["A cat is a feline.", "Paris."],
                               "labels": [1, 0]}], label="labels")
        args = CrossEncoderTrainingArguments(output_dir="out")
        CrossEncoderTrainer(model, train, ListNetLoss(model), args=args).train()
    """

    citation = LIST_NET

    def __init__(self, model: Any, activation_fn: Any = None, mini_batch_size: int | None = None) -> None:
        super().__init__(model, activation_fn, mini_batch_size)
        self.cross_entropy_loss = nn.CrossEntropyLoss()

    def ranking_loss(self, scores: torch.Tensor, relevance: torch.Tensor) -> torch.Tensor:
        # (B, N) scores against (B, N) target probabilities; -inf labels of padding give them 0
        return self.cross_entropy_loss(scores, relevance.softmax(dim=1))
