"""The torch modules a CrossEncoder shows: sentence-transformers 6's module list, whose one module holds the
sequence-classification model as ``model``, so ``state_dict``, ``named_parameters`` and ``model[0].model``
have its names (``0.model.bert.embeddings...``)."""

from __future__ import annotations

from typing import Any

from torch import nn

from .._modules.transformer import encoder_alias
from .runners import forward_parameters


class Transformer(nn.Module):
    """A CrossEncoder's module 0, as sentence-transformers 6's ``Transformer(transformer_task=
    "sequence-classification")``: the transformers model as ``model`` (``auto_model``: its older name). The
    CrossEncoder keeps the tokenizer and scores pairs itself; this is the torch side its callers see."""

    transformer_task = "sequence-classification"

    def __init__(self, model: Any) -> None:
        super().__init__()
        self.model = model

    auto_model = encoder_alias

    def forward(self, features: dict[str, Any]) -> dict[str, Any]:
        """``features`` with ``"scores"``, the logits ``(B, num_labels)``, added (sentence-transformers')."""
        names = forward_parameters(self.model)
        features["scores"] = self.model(**{k: v for k, v in features.items() if k in names}).logits
        return features


def classifier_network(model: Any) -> nn.Sequential:
    """``model`` (a ``*ForSequenceClassification``) as module 0's ``model`` of a one-module list."""
    return nn.Sequential(Transformer(model))
