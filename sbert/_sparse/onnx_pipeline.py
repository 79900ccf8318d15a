"""A SparseEncoder's pipeline on ONNX Runtime (``backend="onnx"``), without torch: the masked-LM and its
SpladePooling run as one graph (:mod:`sbert._backends.sparse_onnx`), built from the folder's files (a CSR
model: :mod:`.onnx_csr`); this
module holds what the model shows of them (the input module's tokenizer, ``max_seq_length`` and
``do_lower_case``; SpladePooling's settings) and runs batches through the graph. With torch installed the
batches become torch tensors and are cut and sparsified by :mod:`.tensors`, as on the torch backend; without
it they stay numpy (:mod:`.arrays`).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from .._backends.graph_builder import position_limit
from .._backends.sparse_onnx import SparseOnnxRunner, splade_graph_path
from .._compat import call_tokenizer
from .._errors import InputError, torch_installed
from .._format import layout
from .._format.snapshot import FolderSnapshot
from .._modules.renamed_dimension import RenamedDimensionMethods
from .._pipeline_model import OnnxModules
from .._progress import progress_bar
from .arrays import output_functions
from .folder import (
    SparseFolder,
    SpladeConfig,
    read_pooling_config,
    saved_masked_lm_options,
)
from .onnx_csr import csr_entries, csr_modules
from .onnx_encoder import OnnxMaskedLM
from .onnx_router import OnnxRouter, load_onnx_router


class OnnxSpladePooling(RenamedDimensionMethods):
    """SpladePooling's settings; the graph pools (``chunk_size`` is accepted and changes nothing there)."""

    stands_for = "SpladePooling"

    def __init__(self, config: SpladeConfig, width: int) -> None:
        self.pooling_strategy = config.pooling_strategy
        self.activation_function = config.activation_function
        self.embedding_dimension = width
        self.chunk_size: int | None = None

    def get_embedding_dimension(self) -> int:
        return self.embedding_dimension

    def _config(self) -> SpladeConfig:
        return SpladeConfig(self.pooling_strategy, self.activation_function, self.embedding_dimension)

    def get_config_dict(self) -> dict[str, Any]:
        return self._config().to_dict()

    def __repr__(self) -> str:
        return f"SpladePooling({self.get_config_dict()})"

    def save(self, folder: Path) -> None:
        (folder / "config.json").write_text(json.dumps(self._config().to_file(), indent=2))


class OnnxSparseNetwork(OnnxModules):
    """The modules in order (``[OnnxMaskedLM, OnnxSpladePooling]``, ``[OnnxRouter]``, or a CSR model's
    ``[OnnxFeatureEncoder, graph steps..., OnnxSparseAutoEncoder]``), with what a model asks of its
    ``nn.Sequential`` (:class:`~sbert._pipeline_model.OnnxModules`)."""

    model_class = "SparseEncoder"

    def reader(self, task: str | None, max_length: int | None = None) -> Any:
        """The module that reads ``task``'s texts (a Router's route's first). ``max_length``: one call's token
        limit (sentence-transformers' ``processing_kwargs``), read by a copy of it whose tokenizer cuts
        there, so the model's own, and other threads' calls, are unchanged."""
        first = self.items[0]
        reader = first.input_module(task) if isinstance(first, OnnxRouter) else first
        if max_length is None or not getattr(reader, "takes_call_limit", True):  # as torch's preprocess
            return reader
        tokenizer = call_tokenizer(reader.tokenizer, max_length)
        reader = copy.copy(reader)
        reader.tokenizer = tokenizer
        return reader

    def embed(
        self,
        texts: list[Any],
        prompt: str | None,
        task: str | None,
        reader: Any = None,
        top: int | None = None,
    ) -> np.ndarray:
        """``(B, V)`` float32 vectors of ``texts`` (``prompt`` before each; a Router's route of ``task``),
        read by ``reader`` (default: :meth:`reader`); ``top``: a CSR model's latents kept (default: its k)."""
        reader = reader or self.reader(task)
        return self._vectors(reader, reader.preprocess(texts, prompt, task=task), top)

    def _vectors(self, reader: Any, features: dict[str, Any], top: int | None) -> np.ndarray:
        vectors = (reader.runner if hasattr(reader, "runner") else reader).embed(features)
        last = self.items[-1]  # a CSR model's SparseAutoEncoder codes the graph's dense embeddings
        return last.codes(vectors, top) if hasattr(last, "codes") else vectors

    def __call__(self, features: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        """The graph on tokenized features (numpy arrays or CPU tensors): ``sentence_embedding`` ``(B, V)``
        (a tensor when the inputs are tensors); ``max_active_dims``: a CSR model's latents kept."""
        arrays = {k: v.numpy() if hasattr(v, "numpy") else v for k, v in features.items()}
        first = self.items[0]
        reader = first.input_module(features.get("task")) if isinstance(first, OnnxRouter) else first
        scores = self._vectors(reader, arrays, kwargs.get("max_active_dims"))
        if any(hasattr(v, "numpy") for v in features.values()):
            import torch

            scores = torch.from_numpy(scores)
        return {**features, "sentence_embedding": scores}

    def save(self, folder: Path) -> None:
        """sentence-transformers' layout: the input module at the root, each other in ``<i>_<kind>``, and
        ``modules.json`` (a SPLADE model's with 5.x's type names, which every release reads)."""
        if isinstance(self.items[0], OnnxRouter):
            raise InputError("Save an inference-free SPLADE model (a Router) loaded with backend='torch'.")
        kinds = list(map(layout.kind_of_module, self.items))
        entries = [(kind, f"{i}_{kind}" if i else "") for i, kind in enumerate(kinds)]
        for module, (_, sub) in zip(self.items, entries):
            (folder / sub).mkdir(parents=True, exist_ok=True)
            module.save(folder / sub)
        (folder / layout.MODULES_FILE).write_text(json.dumps(layout.modules_json(entries), indent=2))

    def modules(self) -> Iterator[Any]:
        first = self.items[0]
        return first.modules() if isinstance(first, OnnxRouter) else iter(self.items)


def load_onnx_network(
    files: SparseFolder,
    tokenizer_options: dict[str, Any],
    precision: str = "fp32",
    snapshot: FolderSnapshot | None = None,
    trust_remote_code: bool = False,
) -> OnnxSparseNetwork:
    """The ONNX pipeline of a SPLADE folder or an inference-free SPLADE Router (the graph built or taken
    from the cache), or an error naming why it cannot run there. ``tokenizer_options``:
    sentence-transformers' ``processor_kwargs``; ``precision``: the graph's, "fp32" or "int8"; ``snapshot``:
    the folder's files as loaded, which a masked-LM saves and loads its torch model from later;
    ``trust_remote_code``: a masked-LM may run its folder's code (its graph is traced then)."""
    splade = files.splade
    if splade is not None:
        return OnnxSparseNetwork(
            *splade_modules(
                files.folder,
                splade.transformer_path,
                splade.pooling,
                {
                    "max_seq_length": splade.max_seq_length,
                    "do_lower_case": splade.do_lower_case,
                    "modality_config": splade.modality_config,
                },
                tokenizer_options,
                precision,
                snapshot=snapshot,
                trust_remote_code=trust_remote_code,
            )
        )
    if files.new_csr_head is not None:
        raise InputError(
            f"{files.folder} holds a dense encoder, which a SparseEncoder makes a CSR model of with a new, "
            "randomly initialized SparseAutoEncoder, to train: load it with backend='torch'."
        )
    csr = csr_entries(files.folder)
    if csr is not None:
        modules = csr_modules(
            files.folder, csr, tokenizer_options, precision, snapshot, trust_remote_code=trust_remote_code
        )
        return OnnxSparseNetwork(*modules)
    entries = layout.read_modules(files.folder)
    if len(entries) != 1 or entries[0].kind != "Router":
        raise InputError(
            f"{files.folder}: sbert's SparseEncoder runs SPLADE, inference-free SPLADE and CSR models "
            "(Transformer, Pooling, SparseAutoEncoder) on backend='onnx', not other pipelines; load it with "
            "backend='torch'."
        )
    router = files.folder / entries[0].path

    def splade_route(encoder: Path, pooling: Path) -> list[Any]:
        options = saved_masked_lm_options(encoder)
        config = read_pooling_config(pooling if pooling.is_file() else None)
        return splade_modules(
            files.folder,
            encoder,
            config,
            options,
            tokenizer_options,
            precision,
            encoder.name,
            snapshot,
            trust_remote_code=trust_remote_code,
        )

    return OnnxSparseNetwork(load_onnx_router(router, splade_route))


def splade_modules(
    folder: Path,
    encoder: Path,
    config: SpladeConfig,
    options: dict[str, Any],
    tokenizer_options: dict[str, Any],
    precision: str,
    cache_name: str = "",
    snapshot: FolderSnapshot | None = None,
    *,
    trust_remote_code: bool = False,
) -> list[Any]:
    """The masked-LM in ``encoder`` (``options``: its ``max_seq_length``, ``do_lower_case``,
    ``modality_config``) and its
    SpladePooling (``config``) of the model in ``folder``, their ``precision`` graph cached under
    ``cache_name`` (``trust_remote_code``: the masked-LM may run its folder's code, traced then)."""

    def torch_modules() -> list[Any]:  # what the graph builder does not write is traced from these
        from .mlm_transformer import Transformer
        from .splade_pooling import SpladePooling

        masked_lm = Transformer.load(encoder, trust_remote_code=trust_remote_code)
        return [masked_lm, SpladePooling(config.pooling_strategy, config.activation_function)]

    graph = splade_graph_path(
        folder,
        encoder,
        config.pooling_strategy,
        config.activation_function,
        cache_name,
        precision,
        torch_modules=torch_modules,
        trust_remote_code=trust_remote_code,
    )
    width = int(layout.read_json(encoder / "config.json")["vocab_size"])
    masked_lm = OnnxMaskedLM(
        encoder,
        max_seq_length=options.get("max_seq_length"),
        do_lower_case=bool(options.get("do_lower_case", False)),
        runner=SparseOnnxRunner(graph, width=width, precision=precision, max_tokens=position_limit(encoder)),
        tokenizer_options=tokenizer_options,
        snapshot=snapshot,
        trust_remote_code=trust_remote_code,
        modality_config=options.get("modality_config"),
    )
    # the saved dimension where there is one, as the torch module reports it (its output is the vocabulary's)
    return [masked_lm, OnnxSpladePooling(config, config.embedding_dimension or width)]


def preprocess(
    network: OnnxSparseNetwork, texts: list[str], prompt: str | None, task: str | None
) -> dict[str, Any]:
    """The features of ``texts`` (``prompt`` before each) as numpy arrays: tokenized by a Router's route of
    ``task`` (which the features then name), ``modality`` "text" (a chat template's: "message"), as
    sentence-transformers 6 gives them."""
    first = network[0]
    if isinstance(first, OnnxRouter):
        features = first.input_module(task).preprocess(texts, prompt, task=task)
        return {**features, "task": task, "modality": "text"}
    features = first.preprocess(texts, prompt, task=task)
    return {**features, "modality": features.get("modality", "text")}


def embed(
    network: OnnxSparseNetwork,
    texts: list[str],
    prompt: str | None,
    batch_size: int,
    top: int | None,
    sparse: bool,
    show: bool | None,
    task: str | None = None,
    max_length: int | None = None,
) -> list[Any]:
    """``(B, V)`` embeddings of ``texts`` (``prompt`` before each; a Router's route of ``task``; cut at
    ``max_length`` tokens, this call's limit) in batches of ``batch_size``, each cut to its ``top`` weights;
    torch tensors (sparse COO with ``sparse``) where torch is installed, else numpy."""
    outputs, use_torch = output_functions(), torch_installed()
    reader = network.reader(task, max_length)
    batches = []
    with progress_bar(len(texts), desc="Batches", unit="text", show=show) as bar:
        for start in range(0, len(texts), batch_size):
            chunk = texts[start : start + batch_size]
            scores = network.embed(chunk, prompt, task, reader, top)
            if use_torch:
                import torch

                scores = torch.from_numpy(scores)
            if top is not None:
                scores = outputs.keep_top(scores, top)
            batches.append(scores.to_sparse() if sparse and use_torch else scores)
            bar.update(len(chunk))
    return batches
