"""The modules after pooling: Dense (``activation(x @ W.T + b)``, weights from the module's safetensors) and
Normalize (``x / max(||x||, 1e-12)``, torch's ``F.normalize``)."""

from __future__ import annotations

from pathlib import Path

from ..._format.layout import dense_features, read_json, saved_dense_activation
from .activations import DENSE_ACTIVATIONS, activate
from .checkpoint import Checkpoint, field
from .ops import Graph, NotBuildable


def dense_activation(folder: Path) -> str:
    """The op of a Dense folder's activation; NotBuildable for one this builder does not write."""
    name = saved_dense_activation(read_json(folder / "config.json"))
    if name not in DENSE_ACTIVATIONS:
        raise NotBuildable(f"Dense activation {name!r}")
    return DENSE_ACTIVATIONS[name]


def dense(graph: Graph, x: str, folder: Path, index: int) -> tuple[str, int]:
    """The Dense module saved in ``folder`` applied to ``x``; returns the output and its width."""
    path = folder / "config.json"
    config = read_json(path)
    if dense_features(config) != ("sentence_embedding", "sentence_embedding", False):
        raise NotBuildable(f"{folder}: a Dense on other features or with a residual")
    width_in, width_out = field(config, path, "in_features"), field(config, path, "out_features")
    if not (folder / "model.safetensors").is_file():
        raise NotBuildable(f"{folder} has no model.safetensors")
    ckpt = Checkpoint([folder / "model.safetensors"], "linear.weight")
    weight = ckpt.get("linear.weight", [width_out, width_in])
    bias = ckpt.get("linear.bias", [width_out]) if config.get("bias", True) else None
    out = graph.linear(x, weight, bias, f"dense_{index}.linear")
    op = dense_activation(folder)
    return activate(graph, out, op, f"dense_{index}.{op}"), width_out


def normalize(graph: Graph, x: str) -> str:
    norm = graph.op("ReduceL2", x, axes=[1], keepdims=1)
    return graph.op("Div", x, graph.op("Max", norm, graph.const(1e-12, "float32")), name="normalize")
