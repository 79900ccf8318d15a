"""A small ONNX graph writer: named nodes, weights as initializers, inputs and outputs with dynamic axes,
encoded by :mod:`.proto` (no ``onnx`` package, no torch)."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import proto

OPSET = 17  # the opset of the traced exports (sbert._backends.onnx_export.OPSET)
CONTRIB = "com.microsoft"  # ONNX Runtime's fused CPU kernels: Attention, BiasGelu, ...
PROMPT_INPUT = "prompt_length"  # the traced exports' name (sbert._backends.onnx_export.PROMPT_INPUT)
# Graph inputs in the order the traced exports take them; a builder declares the ones it uses.
INPUT_ORDER = ("input_ids", "attention_mask", "token_type_ids", PROMPT_INPUT)
_EXTERNAL_MIN_BYTES = 1024  # with external data, smaller tensors (shapes, constants) stay in the graph
# ONNX Runtime maps an external tensor into memory instead of copying it when its offset is a multiple of
# the page size (4 KiB; 64 KiB on Windows): aligning to 64 KiB serves both.
_EXTERNAL_ALIGNMENT = 65536


class NotBuildable(Exception):
    """The model uses something the graph builders do not write (the torch export still can)."""


class Graph:
    """Nodes, initializers and inputs of one ONNX graph under construction."""

    def __init__(self, *, int8: bool = False, outliers: dict[str, np.ndarray] | None = None) -> None:
        self.int8 = int8  # the fast graph: quantized_linear's matmuls in int8
        # int8: the down-projections' outlier input channels by layer (.calibration); None: not calibrated,
        # the down-projections stay fp32
        self.outliers = outliers
        self.down_inputs: dict[str, str] = {}  # each down-projection's input tensor, by layer (calibration)
        self.nodes: list[proto.Node] = []
        self.initializers: dict[str, np.ndarray] = {}
        self.inputs: set[str] = set()
        self.outputs: list[tuple[str, list[Any]]] = []  # (name, dims): float outputs, in order
        self.names: set[str] = set()
        self._count = 0

    def input(self, name: str) -> str:
        """Declare the graph input ``name`` (one of ``INPUT_ORDER``) and return it."""
        self.inputs.add(name)
        return name

    def weight(self, name: str, array: np.ndarray) -> str:
        self.initializers[name] = np.ascontiguousarray(array)
        return name

    def const(self, value: Any, dtype: Any = np.int64) -> str:
        self._count += 1
        return self.weight(f"const_{self._count}", np.asarray(value, dtype=dtype))

    def op(
        self, op_type: str, *inputs: str, name: str | None = None, contrib: bool = False, **attrs: Any
    ) -> str:
        """Add one node with a single output and return the output's name."""
        self._count += 1
        name = f"{name or op_type}_{self._count}" if name in self.names or not name else name
        self.names.add(name)  # node names must be unique (a pooling mode may appear twice)
        output = f"{name}_out"
        domain = proto.CONTRIB if contrib else ""
        self.nodes.append(proto.Node(op_type, list(inputs), [output], name, domain, attrs))
        return output

    def output(self, source: str, name: str, dims: list[Any]) -> None:
        """Declare ``source`` as the float graph output ``name`` of shape ``dims`` (ints, or names of
        dynamic axes)."""
        self.nodes.append(proto.Node("Identity", [source], [name], f"{name}_output"))
        self.outputs.append((name, dims))

    def weight_bytes(self) -> int:
        return sum(array.nbytes for array in self.initializers.values())

    def encode(self, external: str | None = None) -> tuple[list[Any], list[np.ndarray]]:
        """The model as chunks to write in order, and (with ``external``, the side file's name) the arrays
        to write to the side file, in order (zero padding between them aligns each tensor's offset)."""
        chunks: list[Any] = [proto.node(n) for n in self.nodes] + [proto.text(2, "sbert_pipeline")]
        side: list[np.ndarray] = []
        offset = 0
        for name, array in self.initializers.items():
            outside = external is not None and array.nbytes >= _EXTERNAL_MIN_BYTES
            if outside and offset % _EXTERNAL_ALIGNMENT:
                padding = _EXTERNAL_ALIGNMENT - offset % _EXTERNAL_ALIGNMENT
                side.append(np.zeros(padding, np.uint8))
                offset += padding
            chunks += proto.initializer(name, array, (external, offset) if outside else None)
            if outside:
                side.append(array)
                offset += array.nbytes
        inputs = [
            (n, [] if n == PROMPT_INPUT else ["batch", "sequence"]) for n in INPUT_ORDER if n in self.inputs
        ]
        chunks += [proto.message(11, proto.value_info(n, 7, dims)) for n, dims in inputs]
        chunks += [proto.message(12, proto.value_info(n, 1, dims)) for n, dims in self.outputs]
        # Shape inference knows no contrib op: their outputs' type, for tools that need it (int8 quantizer).
        contrib = [n.outputs[0] for n in self.nodes if n.domain]
        chunks += [proto.message(13, proto.value_info(name, 1, None)) for name in contrib]
        opsets = {"": OPSET, proto.CONTRIB: 1}
        return proto.model(chunks, opsets, "sbert.graph_builder"), side

    # Shape helpers used by several builders.
    def sequence_length(self, ids: str) -> str:
        """``(1,)`` int64: the sequence axis of a ``(B, T)`` tensor."""
        return self.op("Shape", ids, start=1, end=2)

    def linear(self, x: str, weight: np.ndarray, bias: np.ndarray | None, name: str) -> str:
        """``x @ weight.T + bias`` (``weight`` in torch's Linear layout ``(out, in)``); the MatMul is named
        ``<name>/MatMul``."""
        out = self.op("MatMul", x, self.weight(f"{name}.weight", weight.T), name=f"{name}/MatMul")
        if bias is None:
            return out
        return self.op("Add", out, self.weight(f"{name}.bias", bias), name=f"{name}/Add")

    def quantized_linear(self, x: str, weight: np.ndarray, bias: np.ndarray | None, name: str) -> str:
        """:meth:`linear`, in an int8 graph as one ``DynamicQuantizeMatMul``: the weight quantized once,
        symmetric int8 per output channel, the input quantized per call (uint8, per tensor), as ONNX
        Runtime's ``quantize_dynamic(per_channel=True, weight_type=QInt8)`` quantizes a MatMul."""
        if not self.int8:
            return self.linear(x, weight, bias, name)
        columns = np.ascontiguousarray(weight.T, dtype=np.float32)  # (in, out)
        scale = np.abs(columns).max(axis=0) / np.float32(127)
        scale = np.where(scale > 0, scale, np.float32(1)).astype(np.float32)  # an all-zero column stays 0
        quantized = np.clip(np.rint(columns / scale), -127, 127).astype(np.int8)
        inputs = [
            x,
            self.weight(f"{name}.weight_int8", quantized),
            self.weight(f"{name}.weight_scale", scale),
            self.weight(f"{name}.weight_zero_point", np.zeros_like(quantized[0])),
        ]
        if bias is not None:
            inputs.append(self.weight(f"{name}.bias", bias))
        return self.op("DynamicQuantizeMatMul", *inputs, name=f"{name}/MatMulInt8", contrib=True)

    def split_quantized_linear(self, x: str, weight: np.ndarray, outliers: np.ndarray, name: str) -> str:
        """:meth:`quantized_linear` (no bias) with the input channels ``outliers`` multiplied in fp32: zeroed
        in the int8 matmul's input, so its per-tensor quantization step follows the other channels, and
        gathered into a small fp32 matmul added to its result."""
        if len(outliers) == 0:
            return self.quantized_linear(x, weight, None, name)
        keep = np.ones(weight.shape[1], np.float32)
        keep[outliers] = 0
        inliers = self.op("Mul", x, self.weight(f"{name}.inlier_mask", keep), name=f"{name}/Inliers")
        main = self.quantized_linear(inliers, weight * keep, None, name)
        picked = self.op(
            "Gather", x, self.weight(f"{name}.outlier_channels", outliers), name=f"{name}/Outliers", axis=-1
        )
        side = self.linear(picked, np.ascontiguousarray(weight[:, outliers]), None, f"{name}.outliers")
        return self.op("Add", main, side, name=f"{name}/AddOutliers")
