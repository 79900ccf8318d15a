"""SPLADE models on ONNX Runtime: the graph of the masked-LM and its SpladePooling, built from the folder's
files without torch (:mod:`.graph_builder.splade`), or traced with torch for an encoder family the builder
does not write (:mod:`.graph_cache`), cached beside the dense exports, and the session that maps padded token
batches to ``(batch, vocab)`` dense scores.

The cache is ``<export location>/sparse/`` (:func:`~.onnx_export.export_location`: ``<model>/onnx/sbert``
for the user's writable folders): a folder of its own, because a plain masked-LM folder loads both as a
SentenceTransformer (mean pooling) and as a SparseEncoder, and each keeps its graph. Its metadata records
the weights' fingerprint, the builder's version and the pooling, so a changed model is built again.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from .._errors import ModelLoadError
from .._format.encoder_class import runs_folder_code
from .cpu import int8_weight_bits
from .graph_cache import cached_graph, torch_trace
from .onnx_export import PROMPT_INPUT, export_location, weights_fingerprint
from .onnx_runner import open_token_graph, run_graph, token_feeds

SPARSE_CACHE_DIR = "sparse"
# The SPLADE part's version (the masked-LM head and the pooling), recorded beside the encoder builder's:
# a graph an older version wrote is built again.
SPLADE_BUILDER_VERSION = 1
CSR_BUILDER_VERSION = 1  # the same for a CSR model's dense part (its modules before the SparseAutoEncoder)


def splade_graph_path(
    folder: Path,
    encoder: Path,
    strategy: str,
    activation: str,
    name: str = "",
    precision: str = "fp32",
    *,
    torch_modules: Callable[[], list[Any]],
    trust_remote_code: bool = False,
) -> Path:
    """The ``precision`` ("fp32" or "int8") SPLADE graph of the model in ``folder`` (its masked-LM in
    ``encoder``, pooled with ``strategy`` and ``activation``; ``name``: a Router route's masked-LM folder,
    cached apart): the cached one when current, else built now, or for a model the graph builder does not
    handle (another architecture, a config value it does not write) traced from ``torch_modules()`` (the
    masked-LM's module and its SpladePooling). ``trust_remote_code``: the load's; a masked-LM that runs its
    folder's code then is traced, whatever its ``model_type``, and cached apart from an untrusted load's."""
    from .graph_builder import encoder_inputs
    from .graph_builder.splade import build_splade_graph

    export_dir = export_location(folder) / SPARSE_CACHE_DIR / name
    splade = {
        "pooling_strategy": strategy,
        "activation_function": activation,
        "builder": SPLADE_BUILDER_VERSION,
    }

    inputs = encoder_inputs(encoder)

    def build(graph: Path) -> bool:
        if inputs is None:  # an encoder family the builder does not write
            return False
        bits = int8_weight_bits()
        return build_splade_graph(encoder, graph, strategy, activation, precision=precision, weight_bits=bits)

    info = {
        "architecture": _architecture(encoder),
        **({"inputs": inputs} if inputs is not None else {}),
        "outputs": ["sentence_embedding"],
    }
    trace = torch_trace(encoder, torch_modules, "sentence_embedding")
    folder_code = runs_folder_code(encoder, "fill-mask", trust_remote_code=trust_remote_code)
    fingerprint = weights_fingerprint(folder)
    return cached_graph(
        export_dir, fingerprint, "splade", splade, precision, build, info, trace, folder_code=folder_code
    )


def csr_graph_path(
    folder: Path,
    encoder: Path,
    modules: int,
    precision: str = "fp32",
    *,
    torch_modules: Callable[[], list[Any]],
    trust_remote_code: bool = False,
) -> Path:
    """The ``precision`` graph of a CSR model's dense part (its first ``modules``: the Transformer in
    ``encoder``, Pooling, any Dense and Normalize) in ``folder``, to its ``sentence_embedding``: cached,
    built by the SentenceTransformer's graph builder, or traced from ``torch_modules()`` where that does not
    write the encoder family. The SparseAutoEncoder after it runs outside the graph (``k`` changes per
    call)."""
    from .graph_builder import NotBuildable, build_pipeline_graph, graph_inputs

    export_dir = export_location(folder) / SPARSE_CACHE_DIR
    try:
        inputs: list[str] | None = graph_inputs(folder, modules=modules)
    except NotBuildable:
        inputs = None

    def build(graph: Path) -> bool:
        bits = int8_weight_bits()
        return inputs is not None and build_pipeline_graph(
            folder, graph, precision=precision, weight_bits=bits, modules=modules
        )

    info = {
        "architecture": _architecture(encoder),
        **({"inputs": inputs} if inputs is not None else {}),
        "outputs": ["sentence_embedding"],
    }
    trace = torch_trace(encoder, torch_modules, None)  # as the SentenceTransformer's: a prompt length input
    folder_code = runs_folder_code(encoder, "feature-extraction", trust_remote_code=trust_remote_code)
    spec = {"modules": modules, "builder": CSR_BUILDER_VERSION}
    fingerprint = weights_fingerprint(folder)
    return cached_graph(
        export_dir, fingerprint, "csr", spec, precision, build, info, trace, folder_code=folder_code
    )


def _architecture(encoder: Path) -> str | None:
    from .._format.layout import read_json

    names = read_json(encoder / "config.json").get("architectures")
    return str(names[0]) if names else None


class SparseOnnxRunner:
    """An ONNX Runtime session of a SPLADE graph (``what``: or a CSR model's dense part): padded numpy
    batches to ``(B, width)`` float32 vectors (the vocabulary's scores; the dense embeddings)."""

    def __init__(
        self,
        graph: Path,
        *,
        width: int,
        precision: str = "fp32",
        threads: int | None = None,
        max_tokens: int | None = None,
        what: str = "SPLADE",
    ) -> None:
        self.session, names, found = open_token_graph(graph, threads, "sentence_embedding", what)
        # a CSR graph whose Pooling leaves a prompt out takes its length (0: no prompt)
        self.prompt_input = PROMPT_INPUT in names
        self.input_names = [name for name in names if name != PROMPT_INPUT]
        self.max_tokens = max_tokens  # the encoder's positions (None: unknown)
        if isinstance(found, int) and found != width:
            raise ModelLoadError(f"{graph} outputs {found}-dim vectors; the model's modules give {width}.")
        self.graph = graph
        self.width = width
        self.device = "cpu"
        self.precision = precision

    @property
    def takes_token_type_ids(self) -> bool:
        return "token_type_ids" in self.input_names

    def embed(self, batch: dict[str, Any]) -> np.ndarray:
        """``(B, vocab)`` float32 SPLADE vectors of a padded batch (``input_ids``, ``attention_mask``...)."""
        feeds = token_feeds(batch, self.input_names)
        if self.prompt_input:
            feeds[PROMPT_INPUT] = np.asarray(batch.get(PROMPT_INPUT, 0), dtype=np.int64)
        (scores,) = run_graph(self.session, ["sentence_embedding"], feeds, self.max_tokens)
        return scores.astype(np.float32, copy=False)
