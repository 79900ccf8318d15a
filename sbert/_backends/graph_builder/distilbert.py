"""DistilBERT: BERT's layers under other names, no token types, positions 0..T-1, layer norms with a fixed
epsilon of 1e-12 (``transformers`` ignores any epsilon in its config)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .activations import hidden_activation
from .checkpoint import Checkpoint, field
from .layers import Shape, encoder_stack
from .ops import Graph

# One layer's sub-modules, in LayerNames order.
DISTILBERT_PARTS = (
    "attention.q_lin attention.k_lin attention.v_lin attention.out_lin "
    "sa_layer_norm ffn.lin1 ffn.lin2 output_layer_norm"
)


def distilbert_shape(config: dict[str, Any], path: Path) -> Shape:
    return Shape(
        hidden=field(config, path, "dim"),
        heads=field(config, path, "n_heads"),
        intermediate=field(config, path, "hidden_dim"),
        layers=field(config, path, "n_layers"),
        eps=1e-12,
        activation=hidden_activation(config.get("activation", "gelu")),
    )


def build_distilbert(graph: Graph, config: dict[str, Any], path: Path, ckpt: Checkpoint) -> tuple[str, int]:
    """The encoder of a DistilBERT model: ``(B, T, hidden)`` token embeddings and ``hidden``."""
    shape = distilbert_shape(config, path)
    ids = graph.input("input_ids")
    rows = {
        "word_embeddings": field(config, path, "vocab_size"),
        "position_embeddings": field(config, path, "max_position_embeddings"),
    }
    tables = {
        name: graph.weight(
            f"embeddings.{name}.weight", ckpt.get(f"embeddings.{name}.weight", [n, shape.hidden])
        )
        for name, n in rows.items()
    }
    words = graph.op("Gather", tables["word_embeddings"], ids, name="embeddings.word_embeddings")
    length = graph.sequence_length(ids)
    positions = graph.op("Slice", tables["position_embeddings"], graph.const([0]), length, graph.const([0]))
    embedded = graph.op("Add", words, positions)
    return encoder_stack(graph, ckpt, embedded, shape, "transformer.layer", DISTILBERT_PARTS)
