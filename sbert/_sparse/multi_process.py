"""sentence-transformers' multi-process encoding of a SparseEncoder: ``start_multi_process_pool``,
``encode(..., pool=pool, chunk_size=...)`` and ``encode(..., device=[...])``, on sbert's worker pool
(:mod:`sbert._multiprocess`).

sentence-transformers' workers get the model itself when the pool starts. sbert's load a copy saved then (on
torch: its modules as they are) or, on ``backend="onnx"``, the folder its graph was built from, on the CPU;
then they take the model's ``max_active_dims``. Each chunk is encoded with the call's resolved options
(prompt, task, ``max_active_dims``, the modules' keywords) and comes back as a CPU tensor (sparse unless the
call asks for dense rows; a numpy array where torch is not installed); the parent joins them in input order.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def start_pool(model: Any, target_devices: Sequence[str] | None, onnx_precision: str) -> dict[str, Any]:
    """Worker processes that encode with ``model``: one per device (default: every GPU, else 4 CPU workers).
    ``onnx_precision``: ``"fp32"`` or ``"int8"`` on ``backend="onnx"``, else ``""``."""
    from .._multiprocess import onnx_pool_setup
    from .._multiprocess import start_pool as start

    after_load = (apply_state, {"max_active_dims": model.max_active_dims})
    if onnx_precision:  # the graph cannot change: the workers load its folder
        devices, options = onnx_pool_setup("SparseEncoder", target_devices, onnx_precision)
        return start(model, devices, load_options=options, after_load=after_load)
    options = {"backend": "torch"}
    return start(model, target_devices, save_copy=True, load_options=options, after_load=after_load)


def apply_state(model: Any, state: dict[str, Any]) -> None:
    """In a worker: the parent's settings (``state`` of :func:`start_pool`) onto the model it loaded."""
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
    """The ``(n, width)`` CPU embeddings of ``texts`` (``options``: the worker's ``encode`` keywords), encoded
    by ``pool``'s workers (or by a pool on ``devices`` started for this call only)."""
    from .._multiprocess import encode_on_pool

    started = pool is None
    if started:
        pool = model.start_multi_process_pool([str(device) for device in devices or ()])
    try:
        out = encode_on_pool(pool, texts, chunk_size, options)
    finally:
        if started:
            model.stop_multi_process_pool(pool)
    return out.coalesce() if getattr(out, "is_sparse", False) else out
