"""Multi-vector (ColBERT-style) graphs: a BERT-family encoder and the token-level modules after it (Dense
projections, a Normalize) as one ONNX graph, from config.json and safetensors (no torch).

The encoder is the family builder's (:data:`ENCODER_BUILDERS`); each :class:`TokenDense` is
``activation(x @ W.T + b)`` on every token, its ``linear.weight`` (and ``linear.bias``) read from its
safetensors file (a Dense module's, or a Stanford-NLP checkpoint's own weights); :data:`NORMALIZE` is
torch's ``F.normalize`` over each token's vector. The graph takes the token inputs and returns
``token_embeddings`` ``(batch, sequence, dim)`` of every position: which tokens are scored (the
MultiVectorMask) and each text's cut are the MultiVectorEncoder's, in numpy.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from . import EMBEDDINGS_ANCHOR, encoder_plan
from .activations import DENSE_ACTIVATIONS, activate
from .calibration import calibrate, calibration_batch
from .checkpoint import Checkpoint, weight_files
from .ops import Graph, NotBuildable
from .writer import write_model

NORMALIZE = "normalize"  # the token-level Normalize among a graph's steps


@dataclass(frozen=True)
class TokenDense:
    """A token-level Dense: ``linear.weight`` ``(out, in)`` (and ``linear.bias`` with ``bias``) in ``file``,
    then ``activation`` (a :data:`DENSE_ACTIVATIONS` value, ``""`` for none)."""

    file: Path
    bias: bool
    activation: str = ""


def build_multi_vector_graph(
    encoder: Path,
    steps: list[TokenDense | str],
    destination: Path,
    *,
    precision: str = "fp32",
    weight_bits: int | None = None,
) -> bool:
    """Write the graph of the encoder in ``encoder`` followed by ``steps`` (:class:`TokenDense` layers and
    :data:`NORMALIZE`, in order) to ``destination``, atomically; False, writing nothing, for a model this
    builder does not handle. ``precision="int8"``: the encoder as the dense int8 graph (calibrated by the
    fp32 graph on built-in texts), the projections fp32. A corrupt config or weight file raises
    ModelLoadError naming it."""
    if precision not in ("fp32", "int8"):
        raise ValueError(f"precision must be 'fp32' or 'int8', got {precision!r}")
    try:
        graph = multi_vector_graph(encoder, steps)
        if precision == "int8":
            batch = calibration_batch([encoder], pairs=False)
            calibration = None if batch is None else calibrate(graph, batch)
            int8 = Graph(int8=True, calibration=calibration, weight_bits=weight_bits)
            graph = multi_vector_graph(encoder, steps, int8)
    except NotBuildable:
        return False
    write_model(graph, destination)
    return True


def multi_vector_graph(encoder: Path, steps: list[TokenDense | str], graph: Graph | None = None) -> Graph:
    """The graph (``graph``: an empty one to build into): token inputs to ``token_embeddings``
    ``(batch, sequence, dim)``."""
    config, family = encoder_plan(encoder)
    graph = graph or Graph()
    checkpoint = Checkpoint(weight_files(encoder), EMBEDDINGS_ANCHOR)
    tokens, width = family.build(graph, config, encoder / "config.json", checkpoint)
    for index, step in enumerate(steps, start=1):
        if step == NORMALIZE:
            norm = graph.op("ReduceL2", tokens, axes=[-1], keepdims=1)
            floor = graph.const(1e-12, "float32")
            tokens = graph.op("Div", tokens, graph.op("Max", norm, floor), name=f"normalize_{index}")
        elif isinstance(step, TokenDense):
            tokens, width = _token_dense(graph, tokens, width, step, index)
        else:
            raise NotBuildable(f"token step {step!r}")
    graph.output(tokens, "token_embeddings", ["batch", "sequence", width])
    return graph


def _token_dense(graph: Graph, tokens: str, width: int, dense: TokenDense, index: int) -> tuple[str, int]:
    if dense.activation not in DENSE_ACTIVATIONS.values():
        raise NotBuildable(f"Dense activation {dense.activation!r}")
    ckpt = Checkpoint([dense.file], "linear.weight")
    key = ckpt.prefix + "linear.weight"
    shape = ckpt.where[key][0].get_slice(key).get_shape()
    if len(shape) != 2 or shape[1] != width:
        raise NotBuildable(f"{dense.file}: linear.weight of shape {shape} after {width}-dim tokens")
    weight = ckpt.get("linear.weight", shape)
    bias = ckpt.get("linear.bias", shape[:1]) if dense.bias else None
    out = graph.linear(tokens, weight, bias, f"token_dense_{index}.linear")
    return activate(graph, out, dense.activation, f"token_dense_{index}.{dense.activation}"), int(shape[0])
