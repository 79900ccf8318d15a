"""sentence-transformers' multi-process encoding of a SparseEncoder: ``encode(..., pool=pool,
chunk_size=...)`` and ``encode(..., device=[...])``, on sbert's worker pool (:mod:`sbert._multiprocess`;
``start_multi_process_pool``: :mod:`sbert._pipeline_model`).

The workers load a copy of the model saved when the pool starts (on torch: its modules as they are then) or,
on ``backend="onnx"``, the folder its graph was built from. Each chunk is encoded with the call's resolved
options (prompt, task, ``max_active_dims``) and comes back as one CPU tensor (a numpy array where torch is
not installed); the parent joins the chunks in input order, as one process gives them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .arrays import output_functions


def encode_with_pool(
    model: Any,
    texts: list[str],
    options: dict[str, Any],
    pool: dict[str, Any] | None,
    devices: Sequence[Any] | None,
    chunk_size: int | None,
) -> Any:
    """One ``(len(texts), width)`` output of ``texts``, encoded by ``pool``'s workers (or by a pool on
    ``devices`` started for this call only) with ``options``: the keywords of their ``encode``."""
    from .._multiprocess import call_pool, encode_on_pool

    width = model.get_sentence_embedding_dimension()

    def join(chunks: list[Any]) -> Any:
        return output_functions().in_input_order(chunks, np.arange(len(texts)), width or chunks[0].shape[-1])

    with call_pool(model, pool, devices) as running:
        return encode_on_pool(running, texts, chunk_size, {**options, "save_to_cpu": True}, join=join)
