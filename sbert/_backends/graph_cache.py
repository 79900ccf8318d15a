"""The cache of the graphs a model class builds beside the dense exports (a SparseEncoder's SPLADE graphs, a
MultiVectorEncoder's token graphs): one folder per graph kind, each precision's graph kept while the
model's weights (their fingerprint), the graph's spec (the builder's version and settings, recorded in
the metadata under its own key) and the graph builder's version are unchanged, else made again.

A graph is made as the SentenceTransformer's is (:func:`~.onnx_export.ensure_graph`): the graph builder
writes it without torch where it handles the encoder family, else it is traced with torch
(:func:`torch_trace`; int8: quantized from the trace). A traced graph records the builder that could not
write it, so a newer builder gets to write it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from .._errors import require_torch
from .._format.layout import read_json
from .onnx_export import (
    BUILDER_VERSION,
    GRAPH_FILES,
    export_graph,
    export_token_graph,
    find_current_graph,
    marked_fingerprint,
    read_export_meta,
    writable_export_dir,
    write_export_meta,
    write_traced_graph,
)

# What the graph builder writes without torch, for the message that asks for torch to trace the rest.
BUILT_FAMILIES = "BERT, RoBERTa, XLM-RoBERTa, CamemBERT, DistilBERT and MPNet"


def cached_graph(
    export_dir: Path,
    fingerprint: str,
    spec_key: str,
    spec: dict[str, Any],
    precision: str,
    build: Callable[[Path], bool],
    info: dict[str, Any],
    trace: Callable[[Path], None],
    *,
    folder_code: bool = False,
) -> Path:
    """The ``precision`` graph in ``export_dir``: the cached one when its weights' ``fingerprint`` and
    ``spec`` are current, else ``build(path)`` writes it, or where it cannot (it returns False) ``trace``
    (:func:`torch_trace`). ``info``: the metadata's description of the graph (inputs, outputs, ...).
    ``folder_code``: the encoder runs its folder's code (``encoder_class.runs_folder_code``), so only a
    trace of it is its graph, cached under the fingerprint's folder-code mark as the dense path's."""
    marked = marked_fingerprint(fingerprint, folder_code)
    meta = read_export_meta(export_dir)
    fresh = meta.get(spec_key) == spec and meta.get("builder") == BUILDER_VERSION
    current = [
        p for p in GRAPH_FILES if fresh and find_current_graph(export_dir, p, marked, meta=meta) is not None
    ]
    graph = export_dir / GRAPH_FILES[precision]
    if precision in current:
        return graph
    writable = writable_export_dir(export_dir)
    if writable != export_dir:  # a read-only cache lacks it: made (or found) in its writable place
        arguments = (fingerprint, spec_key, spec, precision, build, info, trace)
        return cached_graph(writable, *arguments, folder_code=folder_code)
    if not folder_code and build(graph):
        made = {"built": True}
    else:  # the dense path's rule (onnx_export.ensure_graph): what the builder does not write is traced
        write_traced_graph(trace, graph, precision)
        made = {"traced": True}
    info = {**info, **made, "builder": BUILDER_VERSION, spec_key: spec}
    write_export_meta(export_dir, fingerprint=marked, precisions=[*current, precision], info=info)
    return graph


def torch_trace(
    encoder: Path, modules: Callable[[], list[Any]], output: str | None
) -> Callable[[Path], None]:
    """The trace of the torch ``modules()`` (the encoder in ``encoder``, then the modules on its features)
    into a graph of ``output`` (:func:`~.onnx_export.export_token_graph`), or with ``None`` of a sentence
    pipeline's embeddings, a prompt's length as an input where a Pooling leaves it out
    (:func:`~.onnx_export.export_graph`); without torch, the error naming the extra that installs it."""

    def trace(destination: Path) -> None:
        model_type = read_json(encoder / "config.json").get("model_type")
        require_torch(
            f"the ONNX graph of {encoder} (model_type {model_type!r}: sbert writes the graphs of "
            f"{BUILT_FAMILIES} encoders without torch, and traces the others with torch)"
        )
        if output is None:
            import torch

            export_graph(torch.nn.Sequential(*modules()), destination)
        else:
            export_token_graph(modules(), destination, output)

    return trace
