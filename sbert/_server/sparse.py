"""Sparse (SPLADE) models on the server: a served ``SparseEncoder`` for text-embeddings-inference's
``POST /embed_sparse``.

A sparse model reads, batches and limits texts as an embedding model does (it is a ``ServedModel``: prompts,
truncation sides, the token limit, the shared batcher); a batch's rows are the model's vocabulary-wide
scores, as ``SparseEncoder.encode`` computes them (cut to the model's ``max_active_dims``), handed back as the
indices and values of their nonzero entries, indices ascending, as TEI sparsifies them. On
``backend="onnx"`` nothing here imports torch.

An inference-free SPLADE model (a Router: a SparseStaticEmbedding for queries, a masked-LM and SpladePooling
for documents) is routed as the dense Router models are (``engine.ServedModel.read_as``): requests that
choose no task take its default route, the documents' masked-LM (what ``encode`` runs, and what TEI, which
has no query/document split, runs for every input); ``prompt_name: "query"`` takes the query route, as
``encode_query``, and each task's texts are tokenized and batched apart.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._errors import InputError
from .._sparse.arrays import keep_top
from .engine import ServedModel


class ServedSparse(ServedModel):
    """A loaded ``SparseEncoder`` (SPLADE, or CSR on torch) as the server uses it; its rows are
    ``(indices, values)`` of the nonzero entries (``engine.Batched.sparse``)."""

    sparse = True

    def __init__(self, name: str, model: Any, **options: Any) -> None:
        """``options``: ServedModel's (``max_batch_tokens``, ``workers``, ``default_prompt_name``)."""
        check_sparse_model(name, model)
        super().__init__(name, model, **options)
        self.backend = str(model.get_backend())
        self.pooling = "splade"  # TEI's /info names SPLADE models' pooling so
        self.max_active_dims = model.max_active_dims

    def reading_module(self, model: Any) -> Any:
        # The input module reads the texts (its do_lower_case, its tokenizer), as encode tokenizes them; a
        # Router's routes each read with their own.
        return model if self.router(model) is not None else model[0]

    def router(self, model: Any) -> Any:
        """The Router of an inference-free SPLADE model (torch's, or the ONNX pipeline's), else None."""
        return model[0] if hasattr(model[0], "route_name") else None

    def batch_step(self, model: Any) -> Any:
        """The model's forward on a padded batch: ``(B, vocabulary)`` scores (numpy on ONNX)."""
        if model.get_backend() == "onnx":
            return lambda batch: model(batch)["sentence_embedding"]
        model.eval()
        return lambda batch: _torch_scores(model, batch)

    def embed(self, batch: dict[str, np.ndarray]) -> list[tuple[np.ndarray, np.ndarray]]:  # type: ignore[override]
        """Each row's ``(indices, values)`` of its nonzero scores, indices ascending."""
        features = {key: value for key, value in batch.items() if key != "prompt_length"}
        scores = np.asarray(self._embed(features), dtype=np.float32)
        if self.max_active_dims is not None:
            scores = keep_top(scores, self.max_active_dims)
        rows = []
        for row in scores:
            indices = np.flatnonzero(row)
            rows.append((indices, row[indices]))
        return rows

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "max_active_dims": self.max_active_dims}


def check_sparse_model(name: str, model: Any) -> None:
    """Refuse what ``/embed_sparse`` cannot serve: a model that is not a ``SparseEncoder``."""
    if not hasattr(model, "max_active_dims") or not hasattr(model, "get_backend"):
        raise InputError(
            f"sparse model {name!r} is a {type(model).__name__}, not a SparseEncoder: serve SPLADE models "
            "with --sparse (create_app(..., sparse_models=...)) and embedding models with --model."
        )


def sparse_values(rows: list[tuple[np.ndarray, np.ndarray]]) -> list[list[dict[str, Any]]]:
    """TEI's answer: per input, ``[{"index", "value"}]`` of its nonzero entries, indices ascending."""
    return [
        [{"index": i, "value": v} for i, v in zip(indices.tolist(), values.tolist())]
        for indices, values in rows
    ]


def _torch_scores(model: Any, batch: dict[str, np.ndarray]) -> np.ndarray:
    """The torch pipeline's scores of a padded batch (on the model's device), as ``encode`` runs it."""
    import torch

    from .._modules.padding_free import own_inference

    # a Router's route (``task``) stays a string, as encode passes it
    features = {
        key: torch.from_numpy(value).to(model.device) if isinstance(value, np.ndarray) else value
        for key, value in batch.items()
    }
    with own_inference():
        return model(features)["sentence_embedding"].float().cpu().numpy()
