"""Element-wise activations as ONNX ops: the one table of what the builder writes for each, by the two names
saved models give them, a Dense's torch import path (:data:`DENSE_ACTIVATIONS`) and config.json's
``hidden_act`` / DistilBERT's ``activation``, transformers' ``ACT2FN`` names (:data:`HIDDEN_ACTIVATIONS`).

Each maps to an op name: an ONNX op whose default attributes give torch's function, one of ONNX Runtime's
(:data:`CONTRIB_OPS`), a composition of ops (:data:`_COMPOSED`), or ``""`` for none. Activations with learned
weights (``prelu``, ``xielu``) are not here: the torch export writes them.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from .ops import Graph, NotBuildable

# Dense activations by the import path sentence-transformers writes, as the op that computes them.
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

# Feed-forward (and masked-LM transform) activations by transformers' ACT2FN name. The feed-forward applies
# them after a matmul that adds the bias itself (Graph.linear_adding_bias; in int8, inside the int8 matmul):
# the bias-free erf ``Gelu`` ran a (32, 16, 1536) batch in 0.32 ms against BiasGelu's 0.49-0.57 and
# FastGelu's 0.40-0.44 (2 threads, AVX-512; 14 x 210 tokens: 1.97 against 2.89 / 3.29 ms).
HIDDEN_ACTIVATIONS = {
    "gelu": "Gelu",  # erf GELU, as torch's default
    "gelu_python": "Gelu",  # the same written with erf
    "gelu_new": "FastGelu",  # the tanh approximation, sqrt(2 / pi) and 0.044715
    "gelu_pytorch_tanh": "FastGelu",
    "gelu_python_tanh": "FastGelu",
    "gelu_fast": "FastGelu",  # 0.7978845608: sqrt(2 / pi) to 10 digits
    "gelu_accurate": "FastGelu",
    "gelu_10": "Gelu10",
    "quick_gelu": "QuickGelu",
    "relu": "Relu",
    "relu2": "ReluSquared",
    "relu6": "Relu6",
    "leaky_relu": "LeakyRelu",  # torch's and ONNX's default slope: 0.01
    "silu": "SiLU",
    "swish": "SiLU",
    "mish": "Mish",
    "tanh": "Tanh",
    "sigmoid": "Sigmoid",
    "hardswish": "HardSwish",
    "laplace": "Laplace",
    "sqrtsoftplus": "SqrtSoftplus",
    "linear": "",
}
CONTRIB_OPS = frozenset({"Gelu", "FastGelu"})  # ONNX Runtime's, not ONNX's
# Ops whose value at 0 is not 0: the int8 feed-forward's outlier split zeroes channels before the activation
# and counts on them staying 0 (layers._split_feed_forward).
NONZERO_AT_ZERO = frozenset({"Sigmoid", "Softplus", "LogSigmoid", "Hardsigmoid", "Laplace", "SqrtSoftplus"})


def _clip(graph: Graph, x: str, low: float, high: float) -> str:
    return graph.op("Clip", x, graph.const(low, "float32"), graph.const(high, "float32"))


def _scaled(graph: Graph, x: str, factor: float) -> str:
    return graph.op("Mul", x, graph.const(factor, "float32"))


def _laplace(graph: Graph, x: str) -> str:
    """transformers' ``0.5 * (1 + erf((x - 0.707107) / (0.282095 * sqrt(2))))``."""
    centred = graph.op("Sub", x, graph.const(0.707107, "float32"))
    erf = graph.op("Erf", graph.op("Div", centred, graph.const(0.282095 * math.sqrt(2.0), "float32")))
    return _scaled(graph, graph.op("Add", erf, graph.const(1.0, "float32")), 0.5)


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
    "Gelu10": lambda g, x: _clip(g, g.op("Gelu", x, contrib=True), -10.0, 10.0),
    "QuickGelu": lambda g, x: g.op("Mul", x, g.op("Sigmoid", _scaled(g, x, 1.702))),
    "ReluSquared": lambda g, x: g.op("Mul", *[g.op("Relu", x)] * 2),
    "Laplace": _laplace,
    "SqrtSoftplus": lambda g, x: g.op("Sqrt", g.op("Softplus", x)),
}


def hidden_activation(name: object) -> str:
    """The op of config.json's feed-forward activation ``name``; NotBuildable for one not in the table."""
    if not isinstance(name, str) or name not in HIDDEN_ACTIVATIONS:
        raise NotBuildable(f"feed-forward activation {name!r}")
    return HIDDEN_ACTIVATIONS[name]


def activate(graph: Graph, x: str, op: str, node: str) -> str:
    """``op`` (a value of either table) applied to ``x``; a single op's node is named ``node``."""
    if op in _COMPOSED:
        return _COMPOSED[op](graph, x)
    if op:
        return graph.op(op, x, name=node, contrib=op in CONTRIB_OPS)
    return x
