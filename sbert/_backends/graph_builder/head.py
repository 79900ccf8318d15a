"""The modules after pooling: Dense (``activation(x @ W.T + b)``, weights from the module's safetensors) and
Normalize (``x / max(||x||, 1e-12)``, torch's ``F.normalize``)."""

from __future__ import annotations

from pathlib import Path

from ..._format.layout import dense_features, read_json, saved_dense_activation
from .checkpoint import Checkpoint, field
from .ops import Graph, NotBuildable

# Dense activations by the import path sentence-transformers writes, as the ONNX op that computes them.
DENSE_ACTIVATIONS = {
    "torch.nn.modules.activation.Tanh": "Tanh",
    "torch.nn.modules.linear.Identity": "",
    "torch.nn.modules.activation.ReLU": "Relu",
    "torch.nn.modules.activation.GELU": "Gelu",  # com.microsoft Gelu: the erf form, torch's default
    "torch.nn.modules.activation.Sigmoid": "Sigmoid",
    "torch.nn.modules.activation.SiLU": "SiLU",
}


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
    return activate(graph, out, dense_activation(folder), f"dense_{index}"), width_out


def activate(graph: Graph, x: str, op: str, name: str) -> str:
    """A Dense's activation ``op`` (a :data:`DENSE_ACTIVATIONS` value) applied to its linear output ``x``."""
    if op == "SiLU":
        return graph.op("Mul", x, graph.op("Sigmoid", x))
    if op:
        return graph.op(op, x, contrib=op == "Gelu", name=f"{name}.{op}")
    return x


def normalize(graph: Graph, x: str) -> str:
    norm = graph.op("ReduceL2", x, axes=[1], keepdims=1)
    return graph.op("Div", x, graph.op("Max", norm, graph.const(1e-12, "float32")), name="normalize")
