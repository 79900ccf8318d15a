"""The few ONNX protobuf messages a pipeline graph needs, encoded by hand (field numbers of onnx.proto).

Building a graph this way needs neither the ``onnx`` package (its import alone takes about 2 s) nor a copy
of the weights per step: tensors go out as their numpy buffers. Weights past protobuf's 2 GiB message
limit go to a side file, referenced from the graph as ONNX external data.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

IR_VERSION = 8  # the IR version of opset 17
CONTRIB = "com.microsoft"
ELEMENT_TYPES = {
    np.dtype(np.float32): 1,
    np.dtype(np.int8): 3,
    np.dtype(np.int32): 6,
    np.dtype(np.int64): 7,
}
_LENGTH, _VARINT, _FIXED32 = 2, 0, 5
_ATTRIBUTE_FLOAT, _ATTRIBUTE_INT, _ATTRIBUTE_INTS = 1, 2, 7


@dataclass
class Node:
    op_type: str
    inputs: list[str]
    outputs: list[str]
    name: str
    domain: str = ""
    attributes: dict[str, Any] = field(default_factory=dict)


def varint(value: int) -> bytes:
    value &= (1 << 64) - 1  # negative int64 values as two's complement, as protobuf does
    out = bytearray()
    while value >= 0x80:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def key(number: int, wire: int) -> bytes:
    return varint(number << 3 | wire)


def message(number: int, payload: bytes) -> bytes:
    return key(number, _LENGTH) + varint(len(payload)) + payload


def text(number: int, value: str) -> bytes:
    return message(number, value.encode())


def integer(number: int, value: int) -> bytes:
    return key(number, _VARINT) + varint(value)


def attribute(name: str, value: Any) -> bytes:
    if isinstance(value, float):
        body = key(2, _FIXED32) + struct.pack("<f", value) + integer(20, _ATTRIBUTE_FLOAT)
    elif isinstance(value, int):
        body = integer(3, value) + integer(20, _ATTRIBUTE_INT)
    else:  # a list of ints
        body = b"".join(integer(8, v) for v in value) + integer(20, _ATTRIBUTE_INTS)
    return text(1, name) + body


def node(n: Node) -> bytes:
    parts = [text(1, i) for i in n.inputs] + [text(2, o) for o in n.outputs]
    parts += [text(3, n.name), text(4, n.op_type)]
    parts += [message(5, attribute(k, v)) for k, v in n.attributes.items()]
    return message(1, b"".join(parts + ([text(7, n.domain)] if n.domain else [])))


def value_info(name: str, element: int, dims: Iterable[int | str] | None) -> bytes:
    """A tensor's name and type; ``dims`` ``None``: of unknown shape."""
    tensor_type = integer(1, element)
    if dims is not None:
        shape = b"".join(message(1, integer(1, d) if isinstance(d, int) else text(2, d)) for d in dims)
        tensor_type += message(2, shape)
    return text(1, name) + message(2, message(1, tensor_type))


def tensor_head(name: str, array: np.ndarray) -> bytes:
    dims = b"".join(integer(1, d) for d in array.shape)
    return dims + integer(2, ELEMENT_TYPES[array.dtype]) + text(8, name)


def initializer(name: str, array: np.ndarray, external: tuple[str, int] | None) -> list[bytes | memoryview]:
    """One ``graph.initializer`` entry: raw little-endian data inline, or (``external``: the side file's
    name and this tensor's offset in it) a reference to it."""
    head = tensor_head(name, array)
    if external is None:
        data = memoryview(np.ascontiguousarray(array)).cast("B")
        data_head = key(9, _LENGTH) + varint(data.nbytes)
        return [key(5, _LENGTH), varint(len(head) + len(data_head) + data.nbytes), head + data_head, data]
    location, offset = external
    entries = [("location", location), ("offset", str(offset)), ("length", str(array.nbytes))]
    refs = b"".join(message(13, text(1, k) + text(2, v)) for k, v in entries)
    return [message(5, head + refs + integer(14, 1))]


def model(graph: list[bytes | memoryview], opsets: dict[str, int], producer: str) -> list[bytes | memoryview]:
    """A ModelProto around the encoded GraphProto fields ``graph``, as chunks to write in order."""
    size = sum(len(chunk) if isinstance(chunk, bytes) else chunk.nbytes for chunk in graph)
    head = integer(1, IR_VERSION) + text(2, producer)
    head += b"".join(message(8, text(1, domain) + integer(2, version)) for domain, version in opsets.items())
    return [head, key(7, _LENGTH), varint(size), *graph]
