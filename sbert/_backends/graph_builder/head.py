"""The modules after pooling: Dense (``activation(x @ W.T + b)``, weights from the module's safetensors) and
Normalize (``x / max(||x||, 1e-12)``, torch's ``F.normalize``)."""

from __future__ import annotations

from collections.abc import Callable
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
    # ONNX ops whose default attributes are torch's defaults (the module is rebuilt without arguments)
    "torch.nn.modules.activation.ELU": "Elu",
    "torch.nn.modules.activation.CELU": "Celu",
    "torch.nn.modules.activation.SELU": "Selu",
    "torch.nn.modules.activation.LeakyReLU": "LeakyRelu",
    "torch.nn.modules.activation.Softplus": "Softplus",  # torch's x above 20: the same in float32
    "torch.nn.modules.activation.Softsign": "Softsign",
    "torch.nn.modules.activation.Hardswish": "HardSwish",
    # composed below (:data:`_COMPOSED`)
    "torch.nn.modules.activation.ReLU6": "Relu6",
    "torch.nn.modules.activation.Mish": "Mish",
    "torch.nn.modules.activation.Hardtanh": "Hardtanh",
    "torch.nn.modules.activation.Hardsigmoid": "Hardsigmoid",
    "torch.nn.modules.activation.LogSigmoid": "LogSigmoid",
    "torch.nn.modules.activation.Tanhshrink": "Tanhshrink",
    "torch.nn.modules.activation.Softshrink": "Softshrink",
    "torch.nn.modules.activation.Hardshrink": "Hardshrink",
}


def _clip(graph: Graph, x: str, low: float, high: float) -> str:
    return graph.op("Clip", x, graph.const(low, "float32"), graph.const(high, "float32"))


# Activations without an ONNX op of their own at opset 17, or whose op's defaults differ from torch's.
_COMPOSED: dict[str, Callable[[Graph, str], str]] = {
    "SiLU": lambda g, x: g.op("Mul", x, g.op("Sigmoid", x)),
    "Relu6": lambda g, x: _clip(g, x, 0.0, 6.0),
    "Hardtanh": lambda g, x: _clip(g, x, -1.0, 1.0),
    "Mish": lambda g, x: g.op("Mul", x, g.op("Tanh", g.op("Softplus", x))),  # Mish is opset 18
    "Hardsigmoid": lambda g, x: g.op("HardSigmoid", x, alpha=1.0 / 6.0, beta=0.5),  # ONNX's alpha: 0.2
    "LogSigmoid": lambda g, x: g.op("Neg", g.op("Softplus", g.op("Neg", x))),
    "Tanhshrink": lambda g, x: g.op("Sub", x, g.op("Tanh", x)),
    "Softshrink": lambda g, x: g.op("Shrink", x, lambd=0.5, bias=0.5),
    "Hardshrink": lambda g, x: g.op("Shrink", x, lambd=0.5, bias=0.0),
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
    if op in _COMPOSED:
        return _COMPOSED[op](graph, x)
    if op:
        return graph.op(op, x, contrib=op == "Gelu", name=f"{name}.{op}")
    return x


def normalize(graph: Graph, x: str) -> str:
    norm = graph.op("ReduceL2", x, axes=[1], keepdims=1)
    return graph.op("Div", x, graph.op("Max", norm, graph.const(1e-12, "float32")), name="normalize")
