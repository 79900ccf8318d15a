"""BERT and the RoBERTa family (RoBERTa, XLM-RoBERTa, CamemBERT): same layers, different position ids.

BERT numbers positions 0..T-1 whatever the padding. RoBERTa numbers real tokens from ``pad_token_id + 1``
(a cumulative sum over ``input_ids != pad_token_id``) and gives padding ``pad_token_id``, as
``transformers``' ``create_position_ids_from_input_ids`` does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .activations import hidden_activation
from .checkpoint import Checkpoint, field
from .layers import Shape, encoder_stack
from .ops import Graph, NotBuildable

ROBERTA_TYPES = frozenset({"roberta", "xlm-roberta", "camembert"})

# One layer's sub-modules, in LayerNames order.
BERT_PARTS = (
    "attention.self.query attention.self.key attention.self.value attention.output.dense "
    "attention.output.LayerNorm intermediate.dense output.dense output.LayerNorm"
)


def bert_shape(config: dict[str, Any], path: Path) -> Shape:
    if config.get("position_embedding_type", "absolute") != "absolute":
        raise NotBuildable(f"position_embedding_type {config['position_embedding_type']!r}")
    return Shape(
        hidden=field(config, path, "hidden_size"),
        heads=field(config, path, "num_attention_heads"),
        intermediate=field(config, path, "intermediate_size"),
        layers=field(config, path, "num_hidden_layers"),
        eps=field(config, path, "layer_norm_eps", 1e-12, float),
        activation=hidden_activation(config.get("hidden_act", "gelu")),
    )


def build_bert(graph: Graph, config: dict[str, Any], path: Path, ckpt: Checkpoint) -> tuple[str, int]:
    """The encoder of a BERT or RoBERTa-family model: ``(B, T, hidden)`` token embeddings and ``hidden``."""
    shape = bert_shape(config, path)
    ids = graph.input("input_ids")
    words = _table(graph, ckpt, "word_embeddings", field(config, path, "vocab_size"), shape.hidden)
    positions = _table(
        graph, ckpt, "position_embeddings", field(config, path, "max_position_embeddings"), shape.hidden
    )
    types = _table(
        graph, ckpt, "token_type_embeddings", field(config, path, "type_vocab_size", 2), shape.hidden
    )
    summed = graph.op(
        "Add",
        graph.op("Gather", words, ids, name="embeddings.word_embeddings"),
        graph.op("Gather", types, graph.input("token_type_ids"), name="embeddings.token_type_embeddings"),
    )
    if config.get("model_type") in ROBERTA_TYPES:
        position_ids = padded_positions(graph, ids, field(config, path, "pad_token_id", 1, minimum=0))
        placed = graph.op("Gather", positions, position_ids, name="embeddings.position_embeddings")
    else:  # (T, hidden): the first T rows, broadcast over the batch
        placed = graph.op("Slice", positions, graph.const([0]), graph.sequence_length(ids), graph.const([0]))
    embedded = graph.op("Add", summed, placed)
    return encoder_stack(graph, ckpt, embedded, shape, "encoder.layer", BERT_PARTS)


def padded_positions(graph: Graph, ids: str, pad: int) -> str:
    """``pad + cumsum(ids != pad) * (ids != pad)``: RoBERTa's and MPNet's position ids."""
    real = graph.op("Cast", graph.op("Not", graph.op("Equal", ids, graph.const(pad))), to=7)
    counted = graph.op("Mul", graph.op("CumSum", real, graph.const(1)), real)
    return graph.op("Add", counted, graph.const(pad))


def _table(graph: Graph, ckpt: Checkpoint, name: str, rows: int, hidden: int) -> str:
    key = f"embeddings.{name}.weight"
    return graph.weight(key, ckpt.get(key, [rows, hidden]))
