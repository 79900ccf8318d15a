"""ONNX Runtime backend: run the exported graph of the whole pipeline on padded numpy batches.

Running needs only onnxruntime and numpy (never torch); the graph comes from the model's export-only folder
or from the export cache (``sbert._backends.onnx_export``), made on first use.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .._errors import ModelLoadError, missing_extra
from .base import Backend, BackendContext
from .cpu import available_cpus
from .onnx_export import EXPORT_DIR, ensure_graph, export_location, find_current_graph, weights_fingerprint


def importable() -> bool:
    import importlib.util

    return importlib.util.find_spec("onnxruntime") is not None


def require_onnxruntime() -> Any:
    try:
        import onnxruntime
    except ImportError as e:
        raise missing_extra("onnxruntime", "onnx") from e
    return onnxruntime


class OnnxRunner:
    """An ONNX Runtime session that maps padded numpy batches to sentence embeddings."""

    def __init__(
        self, graph: Path, *, dimension: int, precision: str = "fp32", threads: int | None = None
    ) -> None:
        ort = require_onnxruntime()
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = threads or available_cpus()
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        try:
            self.session = ort.InferenceSession(str(graph), options, providers=["CPUExecutionProvider"])
        except Exception as e:  # onnxruntime raises its own Fail/InvalidGraph/... types
            raise ModelLoadError(
                f"{graph} is not a usable ONNX graph ({type(e).__name__}: {e}). Delete it to re-export."
            ) from e
        self.input_names = [i.name for i in self.session.get_inputs()]
        outputs = {o.name: o for o in self.session.get_outputs()}
        if (
            not {"input_ids", "attention_mask"} <= set(self.input_names)
            or "sentence_embedding" not in outputs
        ):
            raise ModelLoadError(
                f"{graph} does not look like an sbert export: inputs {self.input_names}, "
                f"outputs {sorted(outputs)}. Delete it to re-export."
            )
        width = outputs["sentence_embedding"].shape[-1]
        if isinstance(width, int) and width != dimension:
            raise ModelLoadError(
                f"{graph} outputs {width}-dim embeddings but the model's modules give {dimension}."
            )
        self.graph = graph
        self.dimension = dimension
        self.precision = precision
        self.device = "cpu"

    def embed(self, batch: dict[str, np.ndarray]) -> np.ndarray:
        feeds = {name: batch[name] for name in self.input_names}
        (embeddings,) = self.session.run(["sentence_embedding"], feeds)
        return embeddings.astype(np.float32, copy=False)


def _start(context: BackendContext) -> OnnxRunner:
    require_onnxruntime()
    precision = context.precision if context.precision == "int8" else "fp32"
    if context.export_only:
        graphs = sorted(context.export_meta.get("graphs", {}))
        if precision == "fp32" and graphs == ["int8"]:
            precision = "int8"  # an int8-only export: its one graph is the model
        graph = find_current_graph(context.folder / EXPORT_DIR, precision, None)
        if graph is None:
            option = " --quantize int8" if precision == "int8" else ""
            raise ModelLoadError(
                f"{context.folder / EXPORT_DIR} has no {precision} graph (it has {graphs}); make one from "
                f"the original model with: sbert export MODEL OUT{option}"
            )
    else:
        graph = ensure_graph(context.folder, precision, context.torch_network)
    return OnnxRunner(graph, dimension=context.pipeline.dimension, precision=precision)


def _is_ready(context: BackendContext) -> bool:
    """An up-to-date fp32 export exists, so auto never makes a surprise export (``choose_backend`` checks the
    device against ``devices``)."""
    if context.folder is None or not importable():
        return False
    if context.export_only:
        return True
    export_dir = export_location(context.folder)
    return find_current_graph(export_dir, "fp32", weights_fingerprint(context.folder)) is not None


BACKEND = Backend(
    name="onnx",
    precisions=("fp32", "int8"),
    needs_torch_modules=False,
    available=importable,
    is_ready=_is_ready,
    start=_start,
    devices=("cpu",),  # onnxruntime's CPU provider: the one this package installs and tests
)
