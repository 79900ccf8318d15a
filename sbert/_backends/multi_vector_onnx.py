"""Multi-vector (ColBERT-style) models on ONNX Runtime: the graph of the encoder and its token-level
projections (:mod:`.graph_builder.multi_vector`), built from the folder's files without torch, or traced
with torch for an encoder family the builder does not write (:mod:`.graph_cache`), cached beside the dense
exports, and the session that maps padded token batches to ``(batch, tokens, dim)`` token embeddings.

The cache is ``<export location>/multi_vector/`` (:func:`~.onnx_export.export_location`:
``<model>/onnx/sbert`` for the user's writable folders), apart from the dense and sparse graphs of the
same folder (a plain encoder folder loads as all three). Its metadata records the weights' fingerprint
(the encoder's and each projection's folder) and the steps, so a changed model is built again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from .._format.encoder_class import runs_folder_code
from .cpu import int8_weight_bits
from .graph_builder.multi_vector import TokenDense
from .graph_cache import cached_graph, torch_trace
from .onnx_export import export_location, weights_fingerprint
from .onnx_runner import open_token_graph, run_graph, token_feeds

MULTI_VECTOR_CACHE_DIR = "multi_vector"
# The token part's version (the projections and the normalization), recorded beside the encoder builder's.
MULTI_VECTOR_BUILDER_VERSION = 1


def multi_vector_graph_path(
    folder: Path,
    encoder: Path,
    steps: list[TokenDense | str],
    precision: str = "fp32",
    *,
    torch_modules: Callable[[], list[Any]],
    trust_remote_code: bool = False,
) -> Path:
    """The ``precision`` ("fp32" or "int8") graph of the model in ``folder`` (its encoder in ``encoder``,
    then ``steps``): the cached one when current, else built now, or for a model the graph builder does not
    handle (another architecture, a config value it does not write) traced from ``torch_modules()`` (the
    encoder's module and the steps' torch modules). ``trust_remote_code``: the load's; an encoder that runs
    its folder's code then is traced, whatever its ``model_type``, and cached apart from an untrusted
    load's."""
    from .graph_builder import encoder_inputs
    from .graph_builder.multi_vector import build_multi_vector_graph

    described = [_describe(step, folder) for step in steps]
    spec = {"steps": described, "builder": MULTI_VECTOR_BUILDER_VERSION}
    sources = sorted({encoder, *(step.file.parent for step in steps if isinstance(step, TokenDense))})
    fingerprint = hashlib.sha256("".join(map(weights_fingerprint, sources)).encode()).hexdigest()

    inputs = encoder_inputs(encoder)

    def build(graph: Path) -> bool:
        if inputs is None:  # an encoder family the builder does not write
            return False
        bits = int8_weight_bits()
        return build_multi_vector_graph(encoder, steps, graph, precision=precision, weight_bits=bits)

    info = {**({"inputs": inputs} if inputs is not None else {}), "outputs": ["token_embeddings"]}
    trace = torch_trace(encoder, torch_modules, "token_embeddings")
    export_dir = export_location(folder) / MULTI_VECTOR_CACHE_DIR
    folder_code = runs_folder_code(encoder, "feature-extraction", trust_remote_code=trust_remote_code)
    return cached_graph(
        export_dir, fingerprint, "multi_vector", spec, precision, build, info, trace, folder_code=folder_code
    )


def _describe(step: TokenDense | str, folder: Path) -> Any:
    if not isinstance(step, TokenDense):
        return step
    try:
        where = step.file.relative_to(folder).as_posix()
    except ValueError:
        where = str(step.file)
    return {"file": where, "bias": step.bias, "activation": step.activation}


# what sets a multi-vector batch's width: the task's length, or the fixed query expansion's
LENGTH_SETTINGS = "model[0].document_length / query_length (or query_expansion's length, or max_seq_length)"


class MultiVectorOnnxRunner:
    """An ONNX Runtime session of a multi-vector graph: padded numpy batches to ``(B, T, dim)`` float32 token
    embeddings."""

    def __init__(
        self,
        graph: Path,
        *,
        precision: str = "fp32",
        threads: int | None = None,
        max_tokens: int | None = None,
    ) -> None:
        self.session, self.input_names, width = open_token_graph(
            graph, threads, "token_embeddings", "multi-vector"
        )
        self.max_tokens = max_tokens  # the encoder's positions (None: unknown)
        self.width = width if isinstance(width, int) else None
        self.graph = graph
        self.device = "cpu"
        self.precision = precision

    def embed(self, batch: dict[str, Any]) -> np.ndarray:
        """``(B, T, dim)`` float32 token embeddings of a padded batch (``input_ids``, ``attention_mask``;
        ``token_type_ids`` default to zeros)."""
        feeds = token_feeds(batch, self.input_names)
        (tokens,) = run_graph(self.session, ["token_embeddings"], feeds, self.max_tokens, LENGTH_SETTINGS)
        return tokens.astype(np.float32, copy=False)
