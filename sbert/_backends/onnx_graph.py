"""Which weight matmuls of an exported encoder graph stay fp32 when the rest is quantized to int8.

Pure graph reading (an ``onnx.GraphProto`` in, node names out), so the rules can be tested on tiny exports.
Measured on all-MiniLM-L6-v2 (mean cosine to fp32 over 2,758 STSb sentences; docs/benchmarks.md):
quantizing one projection type at a time with per-token activation scales, the value projection costs most
(0.9980; query, key and attention output >= 0.9999, feed-forward up and down 0.9993): value outputs pass
straight into each token's output, where query and key errors are damped by the softmax. In the ONNX graph,
whose dynamic quantization takes one activation scale per tensor, the whole graph gives 0.9924, 0.9956 with
the feed-forward down-projections kept fp32 (their inputs, after GELU, have outliers) and 0.9971 with the
value projections kept fp32 as well."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

# Ops that carry a projection's output on to attention unchanged in meaning (bias, head split, scaling).
_PASS_THROUGH = frozenset(
    {"Add", "Reshape", "Transpose", "Cast", "Mul", "Div", "Identity", "Unsqueeze", "Squeeze"}
)
# Ops between a Softmax and the probabilities x values MatMul, with the inputs that carry the data: some
# exports guard fully masked rows with Where(IsNaN(p), 0, p).
_FROM_SOFTMAX = _PASS_THROUGH | {"Where"}
_DATA_INPUTS = {
    "Where": slice(1, 3),
    "Reshape": slice(0, 1),
    "Unsqueeze": slice(0, 1),
    "Squeeze": slice(0, 1),
}
_MAX_HOPS = 8


def int8_sensitive_matmuls(graph: Any) -> list[str]:
    """Names of the weight MatMuls to keep fp32: feed-forward down- and attention value projections."""
    return sorted(set(down_projections(graph)) | set(value_projections(graph)))


def down_projections(graph: Any) -> list[str]:
    """Weight MatMuls that narrow their input (hidden * 4 -> hidden): the feed-forward down-projections."""
    shapes = {init.name: tuple(init.dims) for init in graph.initializer}
    return [
        node.name
        for node in graph.node
        if node.op_type == "MatMul"
        and len(shapes.get(node.input[1], ())) == 2
        and shapes[node.input[1]][0] > shapes[node.input[1]][1]
    ]


def value_projections(graph: Any) -> list[str]:
    """Weight MatMuls whose output reaches attention as the values: the second input of a MatMul whose first
    input comes from a Softmax (probabilities x values), through bias, reshape and transpose ops only."""
    weights = {init.name for init in graph.initializer}
    producer = {output: node for node in graph.node for output in node.output}
    consumers: dict[str, list[tuple[Any, int]]] = defaultdict(list)
    for node in graph.node:
        for position, name in enumerate(node.input):
            consumers[name].append((node, position))

    def from_softmax(tensor: str, hops: int = 0) -> bool:
        node = producer.get(tensor)
        if node is None or hops > _MAX_HOPS:
            return False
        if node.op_type == "Softmax":
            return True
        if node.op_type not in _FROM_SOFTMAX:
            return False
        inputs = node.input[_DATA_INPUTS.get(node.op_type, slice(None))]
        return any(from_softmax(name, hops + 1) for name in inputs if name)

    def feeds_values(tensor: str, hops: int = 0) -> bool:
        for node, position in consumers.get(tensor, []):
            if node.op_type == "MatMul" and position == 1 and from_softmax(node.input[0]):
                return True
            if node.op_type in _PASS_THROUGH and hops < _MAX_HOPS and feeds_values(node.output[0], hops + 1):
                return True
        return False

    return [
        node.name
        for node in graph.node
        if node.op_type == "MatMul" and node.input[1] in weights and feeds_values(node.output[0])
    ]
