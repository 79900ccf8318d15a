"""ONNX Runtime backend: run the exported graph of the whole pipeline on padded numpy batches.

Running needs only onnxruntime and numpy (never torch); the graph comes from the model's export-only folder
or from the export cache (``sbert._backends.onnx_export``), made on first use.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from .._errors import (
    InputError,
    ModelLoadError,
    SequenceTooLongError,
    missing_extra,
    torch_installed,
    warn_at_caller,
)
from .._format.layout import CUSTOM, read_json
from .base import Backend, BackendContext
from .cpu import compute_threads, int8_weight_bits
from .graph_builder import position_limit
from .graph_builder.runtime import run_token_graph
from .onnx_export import (
    EXPORT_DIR,
    PROMPT_INPUT,
    CacheLook,
    build_graph,
    ensure_graph,
    find_current_graph,
    int8_graph_bits,
    look_at_cache,
    read_export_meta,
)


def importable() -> bool:
    import importlib.util

    return importlib.util.find_spec("onnxruntime") is not None


def require_onnxruntime() -> Any:
    try:
        import onnxruntime
    except ImportError as e:
        raise missing_extra("onnxruntime", "onnx") from e
    return onnxruntime


def open_session(graph: Path, threads: int | None = None) -> Any:
    """An ONNX Runtime CPU session for ``graph``, fully optimized, on this process's CPUs."""
    ort = require_onnxruntime()
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = threads or compute_threads()
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    try:
        return ort.InferenceSession(str(graph), options, providers=["CPUExecutionProvider"])
    except Exception as e:  # onnxruntime raises its own Fail/InvalidGraph/... types
        raise ModelLoadError(
            f"{graph} is not a usable ONNX graph ({type(e).__name__}: {e}). Delete it to re-export."
        ) from e


def open_token_graph(graph: Path, threads: int | None, output: str, what: str) -> tuple[Any, list[str], Any]:
    """``(session, input names, the last dimension of output)`` of an sbert graph that takes token batches
    (``input_ids``, ``attention_mask``) and gives ``output``; ModelLoadError naming ``what`` it should be."""
    require_onnxruntime()
    session = open_session(graph, threads)
    input_names = [i.name for i in session.get_inputs()]
    outputs = {o.name: o for o in session.get_outputs()}
    if output not in outputs or not {"input_ids", "attention_mask"} <= set(input_names):
        raise ModelLoadError(
            f"{graph} is not an sbert {what} graph: inputs {input_names}, outputs {sorted(outputs)}. "
            "Delete it to build it again."
        )
    return session, input_names, outputs[output].shape[-1]


def token_feeds(
    batch: dict[str, Any], names: list[str], *, token_types: bool = True
) -> dict[str, np.ndarray]:
    """A graph's token inputs ``names`` from a padded ``batch``, int64; its ``token_type_ids`` are zeros where
    the batch holds none or the tokenizer makes none (``token_types``, ``hf_methods.makes_token_types``):
    what the BERT-family encoders the graphs hold read in their place, as sentence-transformers feeds them."""
    ids = np.asarray(batch["input_ids"], dtype=np.int64)
    given = batch if token_types else {k: v for k, v in batch.items() if k != "token_type_ids"}
    feeds = {name: np.asarray(given[name], dtype=np.int64) for name in names if name in given}
    return {name: feeds.get(name, np.zeros_like(ids)) for name in names}


def run_graph(
    session: Any,
    outputs: list[str],
    feeds: dict[str, np.ndarray],
    max_tokens: int | None,
    length_setting: str = "model.max_seq_length",
) -> Any:
    """``session.run(outputs, feeds)`` once the batch is known to fit the encoder's ``max_tokens`` positions
    (``graph_builder.position_limit``; ``None``: unchecked): past them ONNX Runtime fails in a graph node
    whose message does not say why. ``length_setting``: what the user lowers to fit (named in the error).
    An id past an embedding table raises TokenIdOutOfRangeError (:func:`run_token_graph`)."""
    tokens = feeds["input_ids"].shape[-1]
    if max_tokens is not None and tokens > max_tokens:
        raise SequenceTooLongError(
            f"A batch holds texts of {tokens} tokens, but the model's encoder has {max_tokens} positions "
            f"(max_position_embeddings in its config.json). Set {length_setting} to {max_tokens} or less."
        )
    return run_token_graph(session, outputs, feeds)


class OnnxRunner:
    """An ONNX Runtime session that maps padded numpy batches to sentence embeddings."""

    def __init__(
        self,
        graph: Path,
        *,
        dimension: int,
        precision: str = "fp32",
        threads: int | None = None,
        max_tokens: int | None = None,
    ) -> None:
        self.session = open_session(graph, threads)
        self.max_tokens = max_tokens  # the encoder's positions (None: unknown)
        self.input_names = [i.name for i in self.session.get_inputs()]
        # Graphs of models whose Pooling leaves the prompt out take its length (0: no prompt).
        self.takes_prompt_length = PROMPT_INPUT in self.input_names
        self.feed_names = [name for name in self.input_names if name != PROMPT_INPUT]
        outputs = {o.name: o for o in self.session.get_outputs()}
        self.output_names = sorted(outputs)
        if (
            not {"input_ids", "attention_mask"} <= set(self.input_names)
            or "sentence_embedding" not in outputs
        ):
            if "logits" in outputs:  # a cross-encoder's export: a valid model of the other class
                raise ModelLoadError(
                    f"{graph} is a cross-encoder's graph (it outputs logits, not sentence_embedding): load "
                    "its folder with sbert.CrossEncoder (on the command line: sbert rerank)."
                )
            raise ModelLoadError(
                f"{graph} does not look like an sbert export: inputs {self.input_names}, "
                f"outputs {sorted(outputs)}. A graph sbert cached from the weights beside it can be deleted "
                "to re-export."
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
        """``(B, dim)`` float32 sentence embeddings of a padded batch."""
        return self._run("sentence_embedding", batch)

    def token_embeddings(self, batch: dict[str, np.ndarray]) -> np.ndarray:
        """``(B, T, hidden)`` float32 token embeddings of a padded batch: the graph's ``token_embeddings``,
        the pipeline's last."""
        if "token_embeddings" not in self.output_names:
            raise ModelLoadError(
                f"{self.graph} gives no token embeddings (outputs {self.output_names}); export the original "
                "model again with: sbert export MODEL OUT"
            )
        return self._run("token_embeddings", batch)

    def _run(self, output: str, batch: dict[str, np.ndarray]) -> np.ndarray:
        feeds = {name: batch[name] for name in self.feed_names}
        if self.takes_prompt_length:
            feeds[PROMPT_INPUT] = np.asarray(batch.get(PROMPT_INPUT, 0), dtype=np.int64)
        elif PROMPT_INPUT in batch:  # only an export-only folder can be this old: no weights to re-export
            raise ModelLoadError(
                f"{self.graph} was exported before sbert could leave a prompt out of the pooling "
                "(include_prompt: false); export the original model again with: sbert export MODEL OUT"
            )
        (values,) = run_graph(self.session, [output], feeds, self.max_tokens)
        return values.astype(np.float32, copy=False)


def _exports(context: BackendContext) -> bool:
    """The ONNX export covers pipelines that start with a Transformer and have no Router and no custom
    module (whose code runs on torch only)."""
    info = context.pipeline
    return info is None or (
        info.input_kind == "Transformer"
        and all(entry.kind not in ("Router", CUSTOM) for entry in info.entries)
    )


def _start(context: BackendContext) -> OnnxRunner:
    if not _exports(context):
        raise InputError(
            f"{context.folder}: the ONNX backend runs Transformer pipelines without a Router, not "
            f"{' -> '.join(e.kind for e in context.pipeline.entries)}; load it with backend='torch'."
        )
    require_onnxruntime()
    precision = context.precision if context.precision == "int8" else "fp32"
    if context.export_only:
        graph, precision = export_only_graph(context.folder, context.export_meta, precision)
    else:
        prompt_input = not context.pipeline.includes_prompt
        network = context.torch_network
        look = context.cache_look or look_at_cache(context.folder, folder_code=context.folder_code)
        graph = ensure_graph(context.folder, precision, network, prompt_input=prompt_input, look=look)
    limit = position_limit(context.pipeline.transformer_path)
    return OnnxRunner(graph, dimension=context.pipeline.dimension, precision=precision, max_tokens=limit)


def export_only_graph(folder: Path, export_meta: dict[str, Any], precision: str) -> tuple[Path, str]:
    """The graph of an ``sbert export`` folder for ``precision`` ("fp32" or "int8") and the precision it
    really runs (an int8-only export's one graph is the model), or ModelLoadError saying how to make it."""
    graphs = sorted(export_meta.get("graphs", {}))
    if precision == "fp32" and graphs == ["int8"]:
        precision = "int8"
    graph = find_current_graph(folder / EXPORT_DIR, precision, None)
    if graph is None:
        option = " --quantize int8" if precision == "int8" else ""
        raise ModelLoadError(
            f"{folder / EXPORT_DIR} has no {precision} graph (it has {graphs}); make one from "
            f"the original model with: sbert export MODEL OUT{option}"
        )
    if precision == "int8" and int8_graph_bits(export_meta) > int8_weight_bits():
        # the graph cannot be rebuilt here (no weights): it runs, and the user learns how to fix it
        warn_at_caller(
            f"{graph} has 8-bit int8 weights, which ONNX Runtime's int8 kernels can saturate on this CPU "
            "(no VNNI or other int8 dot-product unit), costing accuracy; export the model on a CPU like "
            "this one, or with SBERT_CPU_FLAGS=avx2 set, to get 7-bit weights, or run it in fp32."
        )
    return graph, precision


def _is_ready(context: BackendContext) -> bool:
    """Whether ``backend="auto"`` runs this model on ONNX (``choose_backend`` checks the device): its fp32
    graph is cached and current, or the graph builder writes it now from the folder's files, torch installed
    or not (BERT-family encoders with their Pooling, Dense and Normalize, or with their
    sequence-classification head: well under a second, and the same numbers as torch). Other models stay on
    torch: a torch export takes seconds, and only when asked for."""
    if context.folder is None or not importable() or not _exports(context):
        return False
    if context.export_only:
        return True
    look = context.cache_look = look_at_cache(context.folder, folder_code=context.folder_code)
    prompt_input = not context.pipeline.includes_prompt
    current = find_current_graph(
        look.export_dir, "fp32", look.fingerprint, prompt_input=prompt_input, meta=look.meta
    )
    if current is not None:
        return True
    built = _built(context, look)
    if built:  # the metadata the builder wrote now
        context.cache_look = replace(look, meta=read_export_meta(look.export_dir))
    return built


def _built(context: BackendContext, look: CacheLook) -> bool:
    """The graph builder wrote the fp32 graph (False, writing nothing, for a pipeline it does not handle; a
    corrupt config or weight file is a ModelLoadError naming the field or tensor). An encoder whose config
    names code of its own (``auto_map``) may run other layers on torch, so with torch it stays there; trusted,
    the builder's graph of its model_type is not its model, so none is built."""
    config = read_json(context.pipeline.transformer_path / "config.json")
    if look.folder_code or (config.get("auto_map") and torch_installed()):
        return False
    try:
        return build_graph(context.folder, classifier=context.classifier, look=look)
    except ModelLoadError:  # a corrupt file: said now, naming it (it is an OSError too)
        raise
    except OSError as error:  # nowhere to write the graph, not even a temporary folder: torch needs none
        if not torch_installed():
            raise ModelLoadError(
                f"Cannot write the ONNX graph of {context.folder} to {look.export_dir} ({error}). Set "
                "SBERT_CACHE to a writable folder, or install torch to run without a graph: "
                "pip install 'sbert[torch]'"
            ) from error
        return False


BACKEND = Backend(
    name="onnx",
    precisions=("fp32", "int8"),
    needs_torch_modules=False,
    available=importable,
    is_ready=_is_ready,
    start=_start,
    devices=("cpu",),  # onnxruntime's CPU provider: the one this package installs and tests
)
