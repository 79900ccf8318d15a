"""A small ONNX graph writer: named nodes, weights as initializers, inputs and outputs with dynamic axes,
encoded by :mod:`.proto` (no ``onnx`` package, no torch)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..cpu import int8_weight_bits
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


@dataclass(frozen=True)
class Calibration:
    """What the int8 graph is built with: the down-projections' outlier input channels (sorted int64
    indices, maybe empty) and the smoothed inputs' per-channel peaks ``max |x|``, each by the name under
    which the graph recorded the tensor (:attr:`Graph.down_inputs`, :attr:`Graph.smoothed_inputs`)."""

    outliers: dict[str, np.ndarray]
    input_peaks: dict[str, np.ndarray]


class NotBuildable(Exception):
    """The model uses something the graph builders do not write (the torch export still can)."""


class Graph:
    """Nodes, initializers and inputs of one ONNX graph under construction."""

    def __init__(
        self, *, int8: bool = False, calibration: Calibration | None = None, weight_bits: int | None = None
    ) -> None:
        self.int8 = int8  # the fast graph: quantized_linear's and quantized_attention's matmuls in int8
        # the int8 weights' bits: 7 keeps them within +-63, for CPUs whose int8 kernels sum pairs of
        # products in 16 bits; None: this CPU's (sbert._backends.cpu.int8_weight_bits). A fixed default of 8
        # saturated on AVX2: a tiny silu BERT's int8 graph fell to mean cosine 0.913 to fp32 (7 bits: 0.996)
        self.weight_bits = int8_weight_bits() if weight_bits is None else weight_bits
        # int8: the outlier channels and input peaks (.calibration); None: not calibrated, the
        # down-projections stay fp32 and no input is smoothed
        self.calibration = calibration
        # the tensors calibration reads (in the fp32 graph), by name: each down-projection's input, each
        # input that smooth() scales
        self.down_inputs: dict[str, str] = {}
        self.smoothed_inputs: dict[str, str] = {}
        self.nodes: list[proto.Node] = []
        self.initializers: dict[str, np.ndarray] = {}
        self.inputs: set[str] = set()
        self.outputs: list[tuple[str, list[Any]]] = []  # (name, dims): float outputs, in order
        self.names: set[str] = set()
        self._count = 0
        self._ones = ""  # ones_column(), once built

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
        return self.multi_op(op_type, *inputs, outputs=1, name=name, contrib=contrib, **attrs)[0]

    def multi_op(
        self,
        op_type: str,
        *inputs: str,
        outputs: int,
        name: str | None = None,
        contrib: bool = False,
        **attrs: Any,
    ) -> list[str]:
        """Add one node with ``outputs`` outputs and return their names."""
        self._count += 1
        name = f"{name or op_type}_{self._count}" if name in self.names or not name else name
        self.names.add(name)  # node names must be unique (a pooling mode may appear twice)
        names = [f"{name}_out"] + [f"{name}_out{i}" for i in range(1, outputs)]
        domain = proto.CONTRIB if contrib else ""
        self.nodes.append(proto.Node(op_type, list(inputs), names, name, domain, attrs))
        return names

    def output(self, source: str, name: str, dims: list[Any]) -> None:
        """Declare ``source`` as the float graph output ``name`` of shape ``dims`` (ints, or names of
        dynamic axes)."""
        self.nodes.append(proto.Node("Identity", [source], [name], f"{name}_output"))
        self.outputs.append((name, dims))

    def external_digest(self) -> str:
        """8 hex digits of a hash of what :meth:`encode` puts in the side file (each such initializer's name,
        type, shape and bytes): the same weights give the same side file name."""
        digest = hashlib.sha256()
        for name, array in self.initializers.items():
            if array.nbytes >= _EXTERNAL_MIN_BYTES:
                digest.update(f"{name}|{array.dtype.str}|{array.shape}|".encode())
                digest.update(memoryview(np.ascontiguousarray(array)).cast("B"))
        return digest.hexdigest()[:8]

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

    def linear_adding_bias(self, x: str, weight: np.ndarray, bias: np.ndarray, name: str) -> str:
        """:meth:`linear` with the bias as one more row of the weight, which a column of ones appended to
        ``x`` multiplies: the MatMul adds it (to 1e-7), so the op after it needs no bias input. ONNX
        Runtime's bias-free ``Gelu`` ran 35-45 % faster than its ``BiasGelu``, far more than the ``Concat``
        of the ones costs."""
        widened = self.op("Concat", x, self.ones_column(), name=f"{name}/AppendOnes", axis=-1)
        packed = np.concatenate([weight.T, bias[None, :]], axis=0)
        return self.op(
            "MatMul", widened, self.weight(f"{name}.weight_and_bias", packed), name=f"{name}/MatMul"
        )

    def ones_column(self) -> str:
        """``(B, T, 1)`` float ones, shaped by the attention mask; built once per graph."""
        if not self._ones:
            batch_by_tokens = self.op("Shape", self.input("attention_mask"), name="ones/BatchShape")
            shape = self.op("Concat", batch_by_tokens, self.const([1]), name="ones/Shape", axis=0)
            self._ones = self.op("Expand", self.const([[[1.0]]], np.float32), shape, name="ones")
        return self._ones

    def quantized_linear(self, x: str, weight: np.ndarray, bias: np.ndarray | None, name: str) -> str:
        """:meth:`linear`, in an int8 graph as one ``DynamicQuantizeMatMul``: the weight quantized once,
        symmetric int8 per output channel, the input quantized per call (uint8, per tensor), as ONNX
        Runtime's ``quantize_dynamic(per_channel=True, weight_type=QInt8)`` quantizes a MatMul."""
        if not self.int8:
            return self.linear(x, weight, bias, name)
        quantized, scale = quantize_columns(weight.T, self.weight_bits)
        inputs = [
            x,
            self.weight(f"{name}.weight_int8", quantized),
            self.weight(f"{name}.weight_scale", scale),
            self.weight(f"{name}.weight_zero_point", np.zeros_like(quantized[0])),
        ]
        if bias is not None:
            inputs.append(self.weight(f"{name}.bias", bias))
        return self.op("DynamicQuantizeMatMul", *inputs, name=f"{name}/MatMulInt8", contrib=True)

    def smooth(self, x: str, weights: list[np.ndarray], name: str) -> tuple[str, list[np.ndarray]]:
        """``x`` and the Linear ``weights`` (torch layout ``(out, in)``) that read it, in an int8 graph with
        the calibrated input peaks of ``name`` rescaled per input channel (SmoothQuant with alpha 0.5):
        ``x / s`` and ``weights * s`` with ``s = sqrt(peak(x) / peak(w))``, so that the few huge channels of
        ``x`` no longer set the per-tensor quantization step of every other one. Exact in real numbers: the
        products are unchanged. Any other graph records ``x`` for calibration and returns both as given."""
        self.smoothed_inputs[name] = x
        peaks = self.calibration.input_peaks.get(name) if self.int8 and self.calibration else None
        if peaks is None:
            return x, weights
        weight_peaks = np.max([np.abs(w).max(axis=0) for w in weights], axis=0)
        # floors: a channel that calibration saw (nearly) silent, or that no weight reads, must not get
        # a scale that magnifies what it carries on other texts
        x_peak = np.maximum(peaks, 0.1 * np.median(peaks))
        w_peak = np.maximum(weight_peaks, 0.1 * np.median(weight_peaks))
        scale = np.sqrt(x_peak / w_peak)
        scale = (scale / np.exp(np.log(scale).mean())).astype(np.float32)  # geometric mean 1
        smoothed = self.op("Mul", x, self.weight(f"{name}.smoothing", 1 / scale), name=f"{name}/Smooth")
        return smoothed, [w * scale for w in weights]

    def attention(
        self,
        x: str,
        weights: list[np.ndarray],
        biases: list[np.ndarray],
        mask: str,
        heads: int,
        name: str,
        bias: str = "",
    ) -> str:
        """Self-attention's context ``(B, T, hidden)`` from ``x``, the query, key and value projections
        (torch layout), the raw ``(B, T)`` int32 mask and an additive ``(1, heads, T, T)`` ``bias`` (or
        ``""``), as one ``Attention`` (the three projections as one matmul)."""
        packed = self.weight(f"{name}+key+value.weight", np.concatenate([w.T for w in weights], axis=1))
        packed_bias = self.weight(f"{name}+key+value.bias", np.concatenate(biases))
        inputs = [x, packed, packed_bias, mask] + (["", bias] if bias else [])
        return self.op("Attention", *inputs, name=f"{name}/Attention", contrib=True, num_heads=heads)

    def quantized_attention(
        self,
        x: str,
        weights: list[np.ndarray],
        biases: list[np.ndarray],
        mask: str,
        heads: int,
        parts: tuple[str, str, str],
        bias: str = "",
    ) -> str:
        """:meth:`attention`, in an int8 graph with the three projections in one int8 matmul (rounded as
        :meth:`quantized_linear` rounds) and attention in fp32: ``DynamicQuantizeLinear`` and
        ``QAttention``; with a ``bias``, which QAttention does not take, three ``DynamicQuantizeMatMul``
        and ``MultiHeadAttention``. ``parts``: the query, key and value projections' names."""
        name = parts[0]
        if not self.int8:
            return self.attention(x, weights, biases, mask, heads, name, bias)
        if bias:
            projected = [self.quantized_linear(x, w, b, n) for w, b, n in zip(weights, biases, parts)]
            inputs = [*projected, "", mask, bias]
            return self.op(
                "MultiHeadAttention", *inputs, name=f"{name}/Attention", contrib=True, num_heads=heads
            )
        quantized, scale = quantize_columns(np.concatenate([w.T for w in weights], axis=1), self.weight_bits)
        x_int8, x_scale, x_zero = self.multi_op(
            "DynamicQuantizeLinear", x, outputs=3, name=f"{name}/Quantize"
        )
        inputs = [
            x_int8,
            self.weight(f"{name}+key+value.weight_int8", quantized),
            self.weight(f"{name}+key+value.bias", np.concatenate(biases)),
            x_scale,
            self.weight(f"{name}+key+value.weight_scale", scale),
            mask,
            x_zero,
            self.weight(f"{name}+key+value.weight_zero_point", np.zeros_like(quantized[0])),
        ]
        return self.op("QAttention", *inputs, name=f"{name}/QAttention", contrib=True, num_heads=heads)


def quantize_columns(columns: np.ndarray, bits: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """A matmul's ``(in, out)`` weight as symmetric int8 per output column, within +-127 (``bits`` 8) or
    +-63 (7), and the columns' scales."""
    if bits not in (7, 8):
        raise ValueError(f"int8 weights have 7 or 8 bits, not {bits}")
    levels = 2 ** (bits - 1) - 1
    columns = np.asarray(columns, dtype=np.float32)
    scale = np.abs(columns).max(axis=0) / np.float32(levels)
    scale = np.where(scale > 0, scale, np.float32(1)).astype(np.float32)  # an all-zero column stays 0
    return np.clip(np.rint(columns / scale), -levels, levels).astype(np.int8), scale
