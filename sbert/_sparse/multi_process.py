"""sentence-transformers' multi-process encoding of a SparseEncoder: ``encode(..., pool=pool,
chunk_size=...)`` and ``encode(..., device=[...])``, on sbert's worker pool (:mod:`sbert._multiprocess`;
``start_multi_process_pool``: :mod:`sbert._pipeline_model`).

sentence-transformers' workers get the model itself when the pool starts. sbert's load a copy saved then (on
torch: its modules as they are) or, on ``backend="onnx"``, the folder its graph was built from, on the CPU;
then they take the model's ``max_active_dims`` (:func:`worker_settings`). Each chunk is encoded with the
call's resolved options (prompt, task, ``max_active_dims``, the modules' keywords) and comes back as one CPU
tensor (sparse unless the call asks for dense rows; a numpy array where torch is not installed); the parent
joins the chunks in input order, as one process gives them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .arrays import output_functions


def worker_settings(model: Any) -> tuple[Callable[[Any, Any], None], dict[str, Any]]:
    """The pool's ``after_load``: the model's settings that its saved copy or ONNX folder may not hold."""
    return apply_state, {"max_active_dims": model.max_active_dims}


def apply_state(model: Any, state: dict[str, Any]) -> None:
    """In a worker: the parent's settings (``state`` of :func:`worker_settings`) onto the model it loaded."""
    for key, value in state.items():
        setattr(model, key, value)


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

    def join(chunks: list[Any]) -> Any:
        return output_functions().in_input_order(chunks, np.arange(len(texts)))

    with call_pool(model, pool, devices) as running:
        return encode_on_pool(running, texts, chunk_size, {**options, "save_to_cpu": True}, join=join)
