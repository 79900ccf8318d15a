"""The extra ONNX files sentence-transformers' export functions add to a model folder
(``export_optimized_onnx_model``, ``export_dynamic_quantized_onnx_model``): ``onnx/model_<suffix>.onnx``, in
the layout optimum writes and sentence-transformers loads with ``model_kwargs={"file_name": ...}``.

Such a graph holds the transformers model alone, as optimum exports it: ``input_ids``, ``attention_mask`` (and
``token_type_ids``) in; token embeddings (``last_hidden_state``) out for a SentenceTransformer, ``logits`` for
a CrossEncoder or a SparseEncoder's masked LM. The library runs the modules after it. sbert writes the graph
with torch's exporter and quantizes or optimizes it with onnxruntime's own tools, the ones optimum calls, with
optimum's settings for each named configuration; optimum itself is not needed. sbert's own runner builds its
graph from the weights and reads such a file name as a precision choice (``_compat.onnx_model_kwargs``).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._errors import BackendUnavailableError, InputError, installed
from .onnx_export import classifier_inputs, on_device_of, sample_input, trace_to_onnx
from .onnx_fusion import quiet_logger, tracing_attention

ONNX_FOLDER = "onnx"

# optimum's AutoQuantizationConfig presets for dynamic quantization: the weights' type (activations are
# uint8); symmetric per-channel weights, full 8-bit range, the fully-connected operators
QUANTIZATION_PRESETS = {"arm64": "QInt8", "avx2": "QUInt8", "avx512": "QInt8", "avx512_vnni": "QInt8"}
FULLY_CONNECTED_OPERATORS = ["MatMul", "Add"]


@dataclass(frozen=True)
class Optimization:
    """One of optimum's optimization settings, as onnxruntime's transformer optimizer takes them."""

    level: int  # onnxruntime's graph optimization level
    transformers_fusions: bool  # attention, layer-norm and GELU fusions (False: onnxruntime's general ones)
    gelu_approximation: bool = False
    fp16: bool = False  # weights and operations in float16, inputs and outputs float32
    for_gpu: bool = False


# optimum's AutoOptimizationConfig levels
OPTIMIZATION_LEVELS = {
    "O1": Optimization(1, transformers_fusions=False),
    "O2": Optimization(2, transformers_fusions=True),
    "O3": Optimization(2, transformers_fusions=True, gelu_approximation=True),
    "O4": Optimization(2, transformers_fusions=True, gelu_approximation=True, fp16=True, for_gpu=True),
}

# config.json model types onnxruntime's "bert" optimizer fuses (optimum's table for these encoders)
BERT_LIKE_TYPES = frozenset(
    {"bert", "albert", "camembert", "distilbert", "electra", "roberta", "xlm-roberta"}
    | {"deberta", "deberta-v2"}
)


def require_export_tools() -> None:
    """Fail first, with one message, unless what the optimum-format exports need is installed: torch and
    transformers (the model is traced), onnx (torch's exporter and onnxruntime's tools import it)."""
    missing = [package for package in ("torch", "transformers", "onnx") if not installed(package)]
    if missing:
        raise BackendUnavailableError(
            f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} required to export an optimum ONNX "
            "file (the model is traced with torch's exporter) but not installed. Install them with: "
            "pip install 'sbert[torch,onnx]' (model.export(path) writes sbert's own graph without them)."
        )


def quantization_settings(config: Any) -> tuple[dict[str, Any], str]:
    """``(quantize_dynamic keyword arguments, default file suffix)`` for a preset name or an optimum
    ``QuantizationConfig`` (read by attribute, so optimum is only needed to make one)."""
    from onnxruntime.quantization import QuantType

    if isinstance(config, str):
        if config not in QUANTIZATION_PRESETS:
            raise InputError(
                f"quantization_config must be a QuantizationConfig or one of {sorted(QUANTIZATION_PRESETS)}, "
                f"got {config!r}."
            )
        weights = QUANTIZATION_PRESETS[config]
        settings = {"per_channel": True, "reduce_range": False, "operators": FULLY_CONNECTED_OPERATORS}
        settings |= {"weights": weights, "symmetric_weights": True, "symmetric_activations": False}
        suffix = f"{weights.lower()}_{config}"
    else:
        if getattr(config, "is_static", False):
            raise InputError(
                "export_dynamic_quantized_onnx_model quantizes dynamically; "
                "give a config with is_static=False."
            )
        weights = getattr(config.weights_dtype, "name", str(config.weights_dtype))
        settings = {"per_channel": config.per_channel, "reduce_range": config.reduce_range}
        settings |= {"operators": list(config.operators_to_quantize), "weights": weights}
        settings |= {"symmetric_weights": config.weights_symmetric}
        settings |= {"symmetric_activations": config.activations_symmetric}
        suffix = f"{weights.lower()}_quantized"
    keywords = {
        "weight_type": getattr(QuantType, settings["weights"]),
        "per_channel": settings["per_channel"],
        "reduce_range": settings["reduce_range"],
        "op_types_to_quantize": settings["operators"],
        "extra_options": {
            "WeightSymmetric": settings["symmetric_weights"],
            "ActivationSymmetric": settings["symmetric_activations"],
        },
    }
    return keywords, suffix


def optimization_settings(config: Any) -> tuple[Optimization, str]:
    """``(Optimization, default file suffix)`` for a level name (``"O1"`` ... ``"O4"``) or an optimum
    ``OptimizationConfig`` (read by attribute)."""
    if isinstance(config, str):
        if config not in OPTIMIZATION_LEVELS:
            raise InputError(
                "optimization_config must be an OptimizationConfig or one of 'O1', 'O2', 'O3', 'O4', "
                f"got {config!r}."
            )
        return OPTIMIZATION_LEVELS[config], config
    optimization = Optimization(
        level=config.optimization_level,
        transformers_fusions=config.enable_transformers_specific_optimizations,
        gelu_approximation=config.enable_gelu_approximation,
        fp16=config.fp16,
        for_gpu=config.optimize_for_gpu,
    )
    return optimization, "optimized"


def export_transformers_graph(model: Any, destination: Path) -> None:
    """Trace the model's transformers model into ``destination``: token embeddings (``last_hidden_state``),
    or ``logits`` for a sequence-classification or masked-LM head, as optimum's exporter names them."""
    import torch

    network = transformers_model_of(model)
    names = classifier_inputs(network)
    sample = tuple(sample_input(name) for name in names)
    with torch.no_grad():
        outputs = network(**dict(zip(names, on_device_of(network, sample))), return_dict=True)
    output = "logits" if getattr(outputs, "logits", None) is not None else "last_hidden_state"
    token_level = outputs[output].dim() == 3

    class Graph(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = network

        def forward(self, *inputs):  # type: ignore[no-untyped-def]
            return self.model(**dict(zip(names, inputs)), return_dict=True)[output]

    axes = {name: {0: "batch_size", 1: "sequence_length"} for name in names}
    axes[output] = {0: "batch_size", 1: "sequence_length"} if token_level else {0: "batch_size"}
    with tracing_attention(network):  # the attention ops onnxruntime's optimizer recognises
        trace_to_onnx(Graph(), network, sample, destination, inputs=names, outputs=[output], axes=axes)


def transformers_model_of(model: Any) -> Any:
    """The transformers model a SentenceTransformer, CrossEncoder or SparseEncoder runs."""
    network = getattr(model, "transformers_model", None)
    if network is None or not hasattr(network, "config"):
        raise InputError(
            f"{type(model).__name__} has no transformers model to export (static or word-embedding "
            "models have none); these exports need a Transformer-based model."
        )
    return network


def quantize(source: Path, destination: Path, keywords: dict[str, Any]) -> None:
    from onnxruntime.quantization import quantize_dynamic

    with warnings.catch_warnings(), quiet_logger():
        warnings.simplefilter("ignore")
        quantize_dynamic(str(source), str(destination), **keywords)


def optimize(source: Path, destination: Path, optimization: Optimization, config: Any) -> None:
    """onnxruntime's transformer optimizer on ``source``, as optimum runs it for ``optimization``."""
    from onnxruntime.transformers.fusion_options import FusionOptions
    from onnxruntime.transformers.optimizer import optimize_model

    if optimization.transformers_fusions and config.model_type not in BERT_LIKE_TYPES:
        raise InputError(
            f"Model type {config.model_type!r} has no transformer-specific optimizations here (they cover "
            f"{sorted(BERT_LIKE_TYPES)}); use optimization_config='O1' for onnxruntime's general ones."
        )
    options = FusionOptions("bert")
    options.enable_gelu_approximation = optimization.gelu_approximation
    options.enable_embed_layer_norm = False  # optimum's default: that fusion breaks quantization
    heads = getattr(config, "num_attention_heads", getattr(config, "n_heads", 0))
    width = getattr(config, "hidden_size", getattr(config, "dim", 0))
    with warnings.catch_warnings(), quiet_logger(), quiet_logger("onnxruntime.transformers"):
        warnings.simplefilter("ignore")
        optimized = optimize_model(
            str(source),
            model_type="bert",
            num_heads=heads,
            hidden_size=width,
            opt_level=optimization.level,
            optimization_options=options,
            use_gpu=optimization.for_gpu,
            only_onnxruntime=not optimization.transformers_fusions,
        )
        if optimization.fp16:
            optimized.convert_float_to_float16(keep_io_types=True)
    optimized.save_model_to_file(str(destination))


def write_model_file(
    model: Any,
    model_name_or_path: str,
    file_suffix: str,
    transform: Callable[[Path, Path], None],
    *,
    push_to_hub: bool,
    create_pr: bool,
) -> Path | None:
    """Export the model's graph, ``transform(graph, output)`` it, and put the output at
    ``<model_name_or_path>/onnx/model_<file_suffix>.onnx`` (replacing one there, atomically), or upload it
    there in the hub repository ``model_name_or_path``. Returns the local file."""
    file_name = f"model_{file_suffix}.onnx"
    with tempfile.TemporaryDirectory() as tmp:
        graph, output = Path(tmp) / "model.onnx", Path(tmp) / ONNX_FOLDER / file_name
        output.parent.mkdir()
        export_transformers_graph(model, graph)
        transform(graph, output)
        if push_to_hub:
            upload(output.parent, model_name_or_path, file_name, create_pr)
            return None
        destination = Path(model_name_or_path) / ONNX_FOLDER / file_name
        destination.parent.mkdir(parents=True, exist_ok=True)
        part = destination.with_name(destination.name + ".part")
        shutil.copyfile(output, part)  # beside the destination, so the rename is atomic
        os.replace(part, destination)
        return destination


def upload(folder: Path, repo_id: str, file_name: str, create_pr: bool) -> None:
    from huggingface_hub import upload_folder

    upload_folder(
        folder_path=str(folder),
        path_in_repo=ONNX_FOLDER,
        repo_id=repo_id,
        repo_type="model",
        commit_message=f"Add exported onnx model {file_name!r}",
        commit_description=f"Load it with backend='onnx', model_kwargs={{'file_name': {file_name!r}}}.",
        create_pr=create_pr,
    )
