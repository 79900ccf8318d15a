"""The cache of the graphs a model class builds beside the dense exports (a SparseEncoder's SPLADE graphs, a
MultiVectorEncoder's token graphs): one folder per graph kind, each precision's graph kept while the
model's weights (their fingerprint) and the graph's spec (the builder's version and settings, recorded in
the metadata under its own key) are unchanged, else built again."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from .onnx_export import BUILDER_VERSION, GRAPH_FILES, find_current_graph, read_export_meta, write_export_meta


def cached_graph(
    export_dir: Path,
    fingerprint: str,
    spec_key: str,
    spec: dict[str, Any],
    precision: str,
    build: Callable[[Path], bool],
    info: dict[str, Any],
) -> Path | None:
    """The ``precision`` graph in ``export_dir``: the cached one when its weights' ``fingerprint`` and
    ``spec`` are current, else ``build(path)`` writes it (False: the builder does not handle the model,
    ``None`` is returned). ``info``: the metadata's description of the graph (inputs, outputs, ...)."""
    meta = read_export_meta(export_dir)
    fresh = meta.get(spec_key) == spec
    current = [
        p
        for p in GRAPH_FILES
        if fresh and find_current_graph(export_dir, p, fingerprint, meta=meta) is not None
    ]
    graph = export_dir / GRAPH_FILES[precision]
    if precision in current:
        return graph
    if not build(graph):
        return None
    info = {**info, "built": True, "builder": BUILDER_VERSION, spec_key: spec}
    write_export_meta(export_dir, fingerprint=fingerprint, precisions=[*current, precision], info=info)
    return graph
