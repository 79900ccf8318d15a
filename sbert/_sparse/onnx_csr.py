"""A CSR SparseEncoder (Transformer, Pooling, any Dense and Normalize, then a SparseAutoEncoder) on ONNX
Runtime, without torch: the modules before the SparseAutoEncoder run as one graph, the one the
SentenceTransformer's graph builder writes for them (:func:`sbert._backends.sparse_onnx.csr_graph_path`),
and the SparseAutoEncoder's k-sparse code is computed in numpy (:mod:`.sae_arrays`), so a call's
``max_active_dims`` changes ``k`` without another graph.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from .._backends.graph_builder import position_limit
from .._backends.sparse_onnx import SparseOnnxRunner, csr_graph_path
from .._errors import ModelLoadError
from .._format import layout
from .._format.snapshot import FolderSnapshot
from .folder import saved_modality_config
from .onnx_encoder import OnnxFeatureEncoder
from .sae_arrays import OnnxSparseAutoEncoder

_GRAPH_STEPS = frozenset({"Pooling", "Dense", "Normalize"})  # what the graph runs after the Transformer


def csr_entries(folder: Path) -> list[layout.ModuleEntry] | None:
    """The modules.json entries of a CSR model this pipeline runs (a Transformer, a Pooling among the graph
    steps after it, a SparseAutoEncoder last); ``None`` for any other pipeline."""
    entries = layout.read_modules(folder)
    kinds = [entry.kind for entry in entries]
    steps = set(kinds[1:-1])
    if kinds[0] != "Transformer" or kinds[-1] != "SparseAutoEncoder" or "Pooling" not in steps:
        return None
    return entries if steps <= _GRAPH_STEPS else None


class OnnxGraphStep:
    """A Pooling, Dense or Normalize that the graph runs: shown and saved (its folder's files), not run
    here."""

    def __init__(self, kind: str, shown: str, files: Path | None, snapshot: FolderSnapshot | None) -> None:
        self.stands_for = kind
        self._shown = shown
        self._files = files  # its sub-folder (None: the module's defaults, no files)
        self._snapshot = snapshot

    def save(self, folder: Path) -> None:
        if self._files is not None:
            files = self._snapshot.locate(self._files) if self._snapshot is not None else self._files
            shutil.copytree(files, folder, dirs_exist_ok=True)

    def __repr__(self) -> str:
        return self._shown


def csr_modules(
    folder: Path,
    entries: list[layout.ModuleEntry],
    tokenizer_options: dict[str, Any],
    precision: str,
    snapshot: FolderSnapshot | None = None,
    *,
    trust_remote_code: bool = False,
) -> list[Any]:
    """The ONNX pipeline's modules of the CSR model in ``folder`` (``entries``: :func:`csr_entries`), its
    ``precision`` graph built, traced or taken from the cache."""
    dense = len(entries) - 1
    info = layout.describe_pipeline(folder, modules=dense)
    encoder = info.transformer_path
    autoencoder = OnnxSparseAutoEncoder(folder / entries[-1].path)  # checked before a graph is built
    if autoencoder.input_dim != info.dimension:
        raise ModelLoadError(
            f"{folder / entries[-1].path}: the SparseAutoEncoder takes input_dim={autoencoder.input_dim}, "
            f"but the modules before it give {info.dimension}-dim embeddings."
        )

    def torch_modules() -> list[Any]:  # what the graph builder does not write is traced from these
        from .._modules import load_modules

        options = {"allow_pickle": False, "trust_remote_code": trust_remote_code}
        return list(load_modules(folder, **options, entries=entries[:dense]))

    graph = csr_graph_path(
        folder, encoder, dense, precision, torch_modules=torch_modules, trust_remote_code=trust_remote_code
    )
    runner = SparseOnnxRunner(
        graph, width=info.dimension, precision=precision, max_tokens=position_limit(encoder), what="CSR"
    )
    transformer = OnnxFeatureEncoder(
        encoder,
        max_seq_length=info.max_seq_length,
        do_lower_case=info.do_lower_case,
        runner=runner,
        tokenizer_options=tokenizer_options,
        snapshot=snapshot,
        trust_remote_code=trust_remote_code,
        modality_config=saved_modality_config(encoder, OnnxFeatureEncoder.task),
    )
    steps = [
        OnnxGraphStep(entry.kind, shown, folder / entry.path if entry.path else None, snapshot)
        for entry, shown in zip(entries[1:dense], info.reprs[1:])
    ]
    return [transformer, *steps, autoencoder]
