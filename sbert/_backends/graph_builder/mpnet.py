"""MPNet: BERT-like layers plus a relative position bias shared by every layer's attention.

The bias of a (query, key) pair depends only on ``key - query``: bucketed as ``transformers``'
``MPNetEncoder.relative_position_bucket`` does (32 buckets, exact up to distance 8, logarithmic up to 128,
constant beyond), then looked up in ``encoder.relative_attention_bias``. The builder tabulates the bias
for distances -128..128 once, in numpy; the graph gathers the ``(1, heads, T, T)`` bias from that table and
hands it to each fused Attention. Position ids count from ``padding_idx + 1`` (padding_idx is 1), as
RoBERTa's.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from .bert import bert_shape, padded_positions
from .checkpoint import Checkpoint, field
from .layers import encoder_stack
from .ops import Graph, NotBuildable

BUCKETS = 32  # transformers computes the bias with 32 buckets whatever the config says
MAX_DISTANCE = 128  # distances beyond it share the last bucket
PADDING_IDX = 1  # fixed in transformers' MPNetEmbeddings

# One layer's sub-modules, in LayerNames order.
MPNET_PARTS = (
    "attention.attn.q attention.attn.k attention.attn.v attention.attn.o "
    "attention.LayerNorm intermediate.dense output.dense output.LayerNorm"
)


def relative_buckets(relative: np.ndarray) -> np.ndarray:
    """transformers' bucketing of ``key - query`` distances, in float32 as torch computes it."""
    half = BUCKETS // 2
    exact = half // 2
    n = -relative
    buckets = (n < 0).astype(np.int64) * half
    n = np.abs(n)
    with np.errstate(divide="ignore", invalid="ignore"):
        scaled = np.log(n.astype(np.float32) / np.float32(exact)) / np.float32(math.log(MAX_DISTANCE / exact))
        large = exact + np.nan_to_num(scaled * np.float32(half - exact), neginf=0.0).astype(np.int64)
    return buckets + np.where(n < exact, n, np.minimum(large, half - 1))


def build_mpnet(graph: Graph, config: dict[str, Any], path: Path, ckpt: Checkpoint) -> tuple[str, int]:
    """The encoder of an MPNet model: ``(B, T, hidden)`` token embeddings and ``hidden``."""
    shape = bert_shape(config, path)
    if field(config, path, "relative_attention_num_buckets", BUCKETS) != BUCKETS:
        raise NotBuildable(f"relative_attention_num_buckets {config['relative_attention_num_buckets']}")
    ids = graph.input("input_ids")
    tables = {
        name: ckpt.get(f"embeddings.{name}.weight", [field(config, path, key), shape.hidden])
        for name, key in (
            ("word_embeddings", "vocab_size"),
            ("position_embeddings", "max_position_embeddings"),
        )
    }
    words = graph.op(
        "Gather", graph.weight("embeddings.word_embeddings.weight", tables["word_embeddings"]), ids
    )
    table = graph.weight("embeddings.position_embeddings.weight", tables["position_embeddings"])
    positions = graph.op("Gather", table, padded_positions(graph, ids, PADDING_IDX))
    bias = position_bias(graph, ckpt, ids, shape.heads)
    embedded = graph.op("Add", words, positions)
    return encoder_stack(graph, ckpt, embedded, shape, "encoder.layer", MPNET_PARTS, bias)


def position_bias(graph: Graph, ckpt: Checkpoint, ids: str, heads: int) -> str:
    """``(1, heads, T, T)``: the relative position bias of every (query, key) pair."""
    weight = ckpt.get("encoder.relative_attention_bias.weight", [BUCKETS, heads])
    distances = np.arange(-MAX_DISTANCE, MAX_DISTANCE + 1)
    table = graph.weight("relative_position_bias_table", weight[relative_buckets(distances)])  # (257, heads)
    length = graph.op("Squeeze", graph.sequence_length(ids), graph.const([0]))
    steps = graph.op("Range", graph.const(0), length, graph.const(1))  # (T,)
    relative = graph.op(
        "Sub",
        graph.op("Unsqueeze", steps, graph.const([0])),  # keys (1, T)
        graph.op("Unsqueeze", steps, graph.const([1])),  # queries (T, 1)
    )
    index = graph.op(
        "Add",
        graph.op("Clip", relative, graph.const(-MAX_DISTANCE), graph.const(MAX_DISTANCE)),
        graph.const(MAX_DISTANCE),
    )
    bias = graph.op("Transpose", graph.op("Gather", table, index), perm=[2, 0, 1])  # (heads, T, T)
    return graph.op("Unsqueeze", bias, graph.const([0]), name="relative_position_bias")
