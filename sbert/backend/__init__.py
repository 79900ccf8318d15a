"""sentence-transformers' ``sentence_transformers.backend``: the functions that add an optimized or quantized
ONNX file to a model folder (or its hub repository), ``onnx/model_<suffix>.onnx``, for
``SentenceTransformer(path, backend="onnx", model_kwargs={"file_name": ...})``.

    from sbert import SentenceTransformer, export_dynamic_quantized_onnx_model
    model = SentenceTransformer("path/to/model", backend="onnx")
    export_dynamic_quantized_onnx_model(model, "avx512_vnni", "path/to/model")
    # wrote path/to/model/onnx/model_qint8_avx512_vnni.onnx

The files are optimum's (the transformers model alone; see :mod:`sbert._backends.optimum_files`), written
with torch's exporter and onnxruntime's tools, so optimum is not needed. sbert runs any backend's model
here; sentence-transformers asks for one loaded with ``backend="onnx"``. OpenVINO is not an sbert backend.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = [
    "export_dynamic_quantized_onnx_model",
    "export_optimized_onnx_model",
    "export_static_quantized_openvino_model",
]


def export_optimized_onnx_model(
    model: Any,
    optimization_config: Any,
    model_name_or_path: str,
    push_to_hub: bool = False,
    create_pr: bool = False,
    file_suffix: str | None = None,
) -> None:
    """Write ``onnx/model_<suffix>.onnx`` optimized by onnxruntime's transformer optimizer at optimum's level
    ``"O1"`` ... ``"O4"`` (or an optimum ``OptimizationConfig``); the suffix is the level's name."""
    from .._backends import optimum_files

    optimum_files.require_export_tools()
    optimization, default_suffix = optimum_files.optimization_settings(optimization_config)
    config = optimum_files.transformers_model_of(model).config

    def transform(graph: Path, output: Path) -> None:
        optimum_files.optimize(graph, output, optimization, config)

    suffix = file_suffix or default_suffix
    optimum_files.write_model_file(
        model, model_name_or_path, suffix, transform, push_to_hub=push_to_hub, create_pr=create_pr
    )


def export_dynamic_quantized_onnx_model(
    model: Any,
    quantization_config: Any,
    model_name_or_path: str,
    push_to_hub: bool = False,
    create_pr: bool = False,
    file_suffix: str | None = None,
) -> None:
    """Write ``onnx/model_<suffix>.onnx`` with int8 weights, dynamically quantized with optimum's preset
    ``"arm64"``, ``"avx2"``, ``"avx512"`` or ``"avx512_vnni"`` (or an optimum ``QuantizationConfig``); the
    suffix is ``qint8_avx512_vnni`` (``quint8_avx2``), as sentence-transformers names it."""
    from .._backends import optimum_files

    optimum_files.require_export_tools()
    keywords, default_suffix = optimum_files.quantization_settings(quantization_config)

    def transform(graph: Path, output: Path) -> None:
        optimum_files.quantize(graph, output, keywords)

    suffix = file_suffix or default_suffix
    optimum_files.write_model_file(
        model, model_name_or_path, suffix, transform, push_to_hub=push_to_hub, create_pr=create_pr
    )


def export_static_quantized_openvino_model(model: Any, *args: Any, **kwargs: Any) -> None:
    """sentence-transformers' OpenVINO export: sbert has no OpenVINO backend, so this raises ImportError."""
    from .._errors import BackendUnavailableError

    raise BackendUnavailableError(
        "sbert has no OpenVINO backend, so export_static_quantized_openvino_model is not available; for an "
        "int8 CPU model use export_dynamic_quantized_onnx_model(model, 'avx512_vnni', path) (ONNX Runtime), "
        "or model.export(path, quantize='int8')."
    )
