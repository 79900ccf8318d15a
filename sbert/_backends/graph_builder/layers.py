"""The encoder layer that BERT, RoBERTa, DistilBERT and MPNet share (post-norm attention and feed-forward),
written with ONNX Runtime's fused CPU kernels ``Attention`` (one QKV matmul, the raw 2-D mask) and ``Gelu`` or
another activation (:mod:`.activations`; after a matmul that adds the bias itself); the layer norms as ONNX's
``LayerNormalization`` (:func:`layer_norm`). The int8 graph smooths the inputs of its attention and
up-projections (:meth:`Graph.smooth`) and runs attention as ``QAttention``.

Each family names its tensors differently (:class:`LayerNames`) and builds its own embeddings.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .activations import NONZERO_AT_ZERO, activate
from .checkpoint import Checkpoint
from .ops import Graph


@dataclass(frozen=True)
class Shape:
    """An encoder's sizes and constants, from config.json."""

    hidden: int
    heads: int
    intermediate: int
    layers: int
    eps: float
    activation: str  # the feed-forward's op (activations.HIDDEN_ACTIVATIONS)


@dataclass(frozen=True)
class LayerNames:
    """One layer's tensor names (without ``.weight`` / ``.bias``)."""

    query: str
    key: str
    value: str
    output: str
    attention_norm: str
    up: str
    down: str
    output_norm: str


def names_under(layer: str, parts: str) -> LayerNames:
    """A layer's names from its prefix and its eight sub-module names (space-separated, in
    :class:`LayerNames` order)."""
    return LayerNames(*(f"{layer}.{part}" for part in parts.split()))


def layer_norm(graph: Graph, ckpt: Checkpoint, x: str, name: str, shape: Shape) -> str:
    """LayerNorm ``name`` over the last axis as ONNX's ``LayerNormalization``: whole graphs ran up to 9.5 %
    faster with it than with the same norm as elementwise ops and two ReduceMeans, which in turn ran 2-4 %
    faster than ONNX Runtime's ``SkipLayerNormalization`` (the residual Add fused in; its optimizer leaves
    the two apart in these graphs). docs/benchmarks.md, ninth and fifteenth sessions."""
    gamma = graph.weight(f"{name}.weight", ckpt.get(f"{name}.weight", [shape.hidden]))
    beta = graph.weight(f"{name}.bias", ckpt.get(f"{name}.bias", [shape.hidden]))
    eps = float(shape.eps)
    return graph.op("LayerNormalization", x, gamma, beta, name=f"{name}/LayerNorm", axis=-1, epsilon=eps)


def raw_mask(graph: Graph) -> str:
    """The ``(B, T)`` attention mask as int32, Attention's raw-mask form (left padding stays correct)."""
    return graph.op("Cast", graph.input("attention_mask"), name="attention_mask_int32", to=6)


def encoder_layer(
    graph: Graph, ckpt: Checkpoint, x: str, mask: str, names: LayerNames, shape: Shape, bias: str = ""
) -> str:
    """One post-norm layer: ``h = LN(x + attention(x))``, ``LN(h + ffn(h))``. ``bias``: an additive
    ``(1, heads, T, T)`` attention bias (MPNet's relative positions), or ``""``."""
    h, inner = shape.hidden, shape.intermediate
    context = _attention(graph, ckpt, x, mask, names, shape, bias)
    output = ckpt.get(f"{names.output}.weight", [h, h])
    output_bias = ckpt.get(f"{names.output}.bias", [h])
    projected = graph.quantized_linear(context, output, output_bias, names.output)
    attended = _residual_norm(graph, ckpt, projected, x, names.attention_norm, shape)
    smoothed, (up_weight,) = graph.smooth(attended, [ckpt.get(f"{names.up}.weight", [inner, h])], names.up)
    up_bias = ckpt.get(f"{names.up}.bias", [inner])
    down_weight = ckpt.get(f"{names.down}.weight", [h, inner])
    down_bias = ckpt.get(f"{names.down}.bias", [h])
    calibration = graph.calibration
    if graph.int8 and calibration is not None and names.down in calibration.outliers:
        outliers = calibration.outliers[names.down]
        down = _split_feed_forward(
            graph, smoothed, (up_weight, up_bias), (down_weight, down_bias), outliers, names, shape
        )
    else:  # the fp32 graph, or an int8 one left uncalibrated (its tokenizer unreadable here): the
        # down-projection stays fp32; quantized whole, all-MiniLM-L6-v2's mean cosine to fp32 fell from 0.997
        # to 0.994
        active = _up_projection(graph, smoothed, up_weight, up_bias, names.up, shape)
        graph.down_inputs[names.down] = active
        down = graph.linear(active, down_weight, down_bias, names.down)
    return _residual_norm(graph, ckpt, down, attended, names.output_norm, shape)


def _up_projection(
    graph: Graph, x: str, weight: np.ndarray, bias: np.ndarray, name: str, shape: Shape
) -> str:
    """The feed-forward's activated up-projection: the matmul adds the bias (in int8 inside the int8
    matmul), then the activation alone."""
    if graph.int8:
        up = graph.quantized_linear(x, weight, bias, name)
    else:
        up = graph.linear_adding_bias(x, weight, bias, name)
    return activate(graph, up, shape.activation, f"{name}/{shape.activation}")


def _split_feed_forward(
    graph: Graph,
    x: str,
    up: tuple[np.ndarray, np.ndarray],
    down: tuple[np.ndarray, np.ndarray],
    outliers: np.ndarray,
    names: LayerNames,
    shape: Shape,
) -> str:
    """The int8 feed-forward with the intermediate channels ``outliers`` (calibration's, maybe none) taken out
    of both int8 matmuls, so that the down-projection's per-tensor quantization step follows the other
    channels: their up-projection rows are zeroed (so their activations are 0), and a small fp32 path computes
    them from ``x`` and adds their down-projection. An activation whose value at 0 is not 0 (sigmoid, laplace,
    sqrtsoftplus: ``NONZERO_AT_ZERO``) takes no split: its zeroed channels would still feed act(0) into the
    int8 matmul, right only while their down-projection columns stay zeroed as well. Splitting here, before
    the activation, costs no pass over the wide ``(B, T, intermediate)`` activations: masking them after it
    (the builder's version 10) cost 5.5 % of the int8 graph's time on short texts (docs/benchmarks.md, 42nd
    session)."""
    (up_weight, up_bias), (down_weight, down_bias) = up, down
    if len(outliers) == 0 or shape.activation in NONZERO_AT_ZERO:
        active = _up_projection(graph, x, up_weight, up_bias, names.up, shape)
        return graph.quantized_linear(active, down_weight, down_bias, names.down)
    keep = np.ones(up_weight.shape[0], np.float32)
    keep[outliers] = 0
    active = _up_projection(graph, x, up_weight * keep[:, None], up_bias * keep, names.up, shape)
    main = graph.quantized_linear(active, down_weight * keep, down_bias, names.down)
    side_up = graph.linear(x, up_weight[outliers], up_bias[outliers], f"{names.up}.outliers")
    side_active = activate(graph, side_up, shape.activation, f"{names.up}.outliers/{shape.activation}")
    side = graph.linear(
        side_active, np.ascontiguousarray(down_weight[:, outliers]), None, f"{names.down}.outliers"
    )
    return graph.op("Add", main, side, name=f"{names.down}/AddOutliers")


def _attention(
    graph: Graph, ckpt: Checkpoint, x: str, mask: str, names: LayerNames, shape: Shape, bias: str
) -> str:
    """Self-attention's context ``(B, T, hidden)``, before the output projection (of the smoothed input in
    an int8 graph). ``bias``: MPNet's ``(1, heads, T, T)`` position bias, or ``""``."""
    h = shape.hidden
    parts = (names.query, names.key, names.value)
    weights = [ckpt.get(f"{n}.weight", [h, h]) for n in parts]
    biases = [ckpt.get(f"{n}.bias", [h]) for n in parts]
    x, weights = graph.smooth(x, weights, names.query)
    return graph.quantized_attention(x, weights, biases, mask, shape.heads, parts, bias)


def _residual_norm(graph: Graph, ckpt: Checkpoint, x: str, residual: str, norm: str, shape: Shape) -> str:
    """``LayerNorm(x + residual)``."""
    return layer_norm(graph, ckpt, graph.op("Add", x, residual, name=f"{norm}/Residual"), norm, shape)


def encoder_stack(
    graph: Graph, ckpt: Checkpoint, embedded: str, shape: Shape, layers: str, parts: str, bias: str = ""
) -> tuple[str, int]:
    """The summed embeddings ``(B, T, hidden)`` through ``embeddings.LayerNorm`` and every layer (named
    ``<layers>.<i>.<part>``): the token embeddings and their width."""
    hidden = layer_norm(graph, ckpt, embedded, "embeddings.LayerNorm", shape)
    mask = raw_mask(graph)
    for i in range(shape.layers):
        hidden = encoder_layer(graph, ckpt, hidden, mask, names_under(f"{layers}.{i}", parts), shape, bias)
    return hidden, shape.hidden
