"""Sequence-classification heads (cross-encoders): ``logits`` ``(B, num_labels)`` from the encoder's first
token row, as the ``transformers`` task models compute them (dropout is off in inference):

- BERT: the pooler (``dense``, tanh) under the encoder's prefix, then ``classifier``;
- RoBERTa, XLM-R, CamemBERT and MPNet: ``classifier.dense``, tanh, ``classifier.out_proj``;
- DistilBERT: ``pre_classifier``, ReLU, ``classifier``.

Position 0 is read whatever the padding, as ``transformers`` does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .activations import activate
from .checkpoint import Checkpoint
from .ops import Graph, NotBuildable


@dataclass(frozen=True)
class Layer:
    name: str  # the tensors' name without ``.weight`` / ``.bias``
    activation: str  # the ONNX op after it ("" for none)
    in_encoder: bool = False  # under the encoder's prefix (``bert.pooler``), not at the checkpoint's root


@dataclass(frozen=True)
class Head:
    architecture: str  # config.json's ``architectures[0]``
    layers: tuple[Layer, ...]


_ROBERTA_STYLE = (Layer("classifier.dense", "Tanh"), Layer("classifier.out_proj", ""))
# The one registry of classification heads, by config.json's model_type.
CLASSIFIER_HEADS: dict[str, Head] = {
    "bert": Head(
        "BertForSequenceClassification", (Layer("pooler.dense", "Tanh", True), Layer("classifier", ""))
    ),
    "roberta": Head("RobertaForSequenceClassification", _ROBERTA_STYLE),
    "xlm-roberta": Head("XLMRobertaForSequenceClassification", _ROBERTA_STYLE),
    "camembert": Head("CamembertForSequenceClassification", _ROBERTA_STYLE),
    "mpnet": Head("MPNetForSequenceClassification", _ROBERTA_STYLE),
    "distilbert": Head(
        "DistilBertForSequenceClassification", (Layer("pre_classifier", "Relu"), Layer("classifier", ""))
    ),
}


def classifier_head(config: dict[str, Any]) -> Head:
    """The head of config.json's model; NotBuildable for an architecture this builder does not write."""
    head = CLASSIFIER_HEADS.get(config.get("model_type"))  # type: ignore[arg-type]
    architectures = config.get("architectures") or [None]
    if head is None or architectures[0] != head.architecture:
        raise NotBuildable(f"classifier {architectures[0]!r} of model_type {config.get('model_type')!r}")
    return head


def classify(graph: Graph, tokens: str, width: int, head: Head, labels: int, ckpt: Checkpoint) -> str:
    """The head applied to the first row of ``tokens`` ``(B, T, width)``: ``(B, labels)`` logits."""
    first = graph.op("Gather", tokens, graph.const([0]), axis=1)  # (B, 1, width)
    x = graph.op("Squeeze", first, graph.const([1]), name="first_token")
    for index, layer in enumerate(head.layers):
        rows = labels if index == len(head.layers) - 1 else width
        weight = ckpt.get(f"{layer.name}.weight", [rows, width], prefixed=layer.in_encoder)
        bias = ckpt.get(f"{layer.name}.bias", [rows], prefixed=layer.in_encoder)
        x = graph.linear(x, weight, bias, layer.name)
        x = activate(graph, x, layer.activation, f"{layer.name}.{layer.activation}")
    return x
