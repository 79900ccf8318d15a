"""sentence-transformers' multi-process pool: ``start_multi_process_pool``, ``encode(..., pool=pool)`` (a
SentenceTransformer's arrays, a MultiVectorEncoder's per-text lists, a SparseEncoder's tensors) and a
CrossEncoder's ``predict(..., pool=pool)``.

Each worker process loads the model from its folder on one target device and runs one of its methods
(``encode``; a CrossEncoder's ``predict``, for logits) on chunks of the inputs; the parent puts the chunks
back in input order and applies the output options itself, so the result is what one process gives. On a
CPU the workers split the cores between them (each is pinned to its share), so N workers never run N times
as many threads as there are cores. Beyond one machine: ``sbert.distributed`` (Ray).
"""

from __future__ import annotations

import logging
import math
import multiprocessing
import os
import pickle
import queue
import shutil
import tempfile
import uuid
import weakref
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from ._backends.cpu import available_cpus
from ._errors import InputError
from ._st_loggers import ST_MODEL

DEFAULT_CPU_WORKERS = 4  # sentence-transformers' default on a machine without GPUs
INT8_FILE = "model_qint8_avx512.onnx"  # a file name that chooses sbert's int8 graph (sbert._compat)
RESULT_TIMEOUT_S = 3600  # a worker that hangs leaves its chunk unanswered; fail instead of waiting forever
POLL_S = 1.0  # a worker that died leaves its chunk unanswered too: checked for this often
_LOGGER = logging.getLogger(ST_MODEL)  # where sentence-transformers logs a pool's start


def start_pool(
    model: Any,
    target_devices: Sequence[str] | None,
    *,
    method: str = "encode",
    save_copy: bool = False,
    load_options: dict[str, Any] | None = None,
    after_load: tuple[Callable[[Any, Any], None], Any] | None = None,
) -> dict[str, Any]:
    """Worker processes for ``model`` (one per entry of ``target_devices``) that run ``model.<method>``, as
    a sentence-transformers pool dict ``{"input", "output", "processes"}``. ``save_copy``: the workers load
    a copy saved now, as they do for a model without a folder (its weights may differ from the folder's).
    ``load_options``: the keywords the workers load it with (default: its ``backend`` and ``precision``).
    ``after_load``: ``(function, state)``; each worker calls ``function(model, state)`` once it has loaded the
    model (a module-level function: it travels by name), for what the folder does not hold."""
    devices = list(target_devices) if target_devices is not None else _default_devices()
    if not devices or not all(isinstance(d, str) for d in devices):
        raise InputError(f"target_devices must be a non-empty list of device names, got {target_devices!r}")
    _LOGGER.info("Starting multi-process pool on devices: %s", ", ".join(map(str, devices)))
    context = multiprocessing.get_context("spawn")
    inputs, outputs = context.Queue(), context.Queue()
    inputs.cancel_join_thread()  # chunks no worker will take (they died) never hold up the process's exit
    saved = None
    folder = None if save_copy else model.folder
    if folder is None:  # built from modules (or changed): the workers load a saved copy
        copy = tempfile.mkdtemp(prefix="sbert-pool-")
        # Deleted with the pool's input queue too: sentence-transformers' stop_multi_process_pool (LangChain
        # calls it on its class) stops the pool without knowing of the copy.
        saved = weakref.finalize(inputs, shutil.rmtree, copy, ignore_errors=True)
        folder = Path(copy) / "model"
        model.save(folder)
    cores = _core_shares(len(devices))
    if load_options is None:
        load_options = {"backend": model.backend, "precision": model.precision}
    settings = {**load_options, "method": method}
    settings["max_seq_length"] = model.max_seq_length
    settings["after_load"] = after_load
    processes = []
    for device, share in zip(devices, cores):
        process = context.Process(
            target=_work,
            args=(type(model), str(folder), device, settings, share, inputs, outputs),
            daemon=True,
        )
        process.start()
        processes.append(process)
    return {"input": inputs, "output": outputs, "processes": processes, "saved_model": saved}


def start_model_pool(
    model: Any,
    target_devices: Sequence[str] | None,
    onnx_precision: str,
    after_load: tuple[Callable[[Any, Any], None], Any] | None = None,
) -> dict[str, Any]:
    """The pool of a SparseEncoder or MultiVectorEncoder: workers that load a copy of ``model`` saved now (on
    torch: its modules as they are), or on ``backend="onnx"`` (``onnx_precision``: ``"fp32"`` or
    ``"int8"``; ``""`` on torch) the folder its graph was built from, on the CPU; then ``after_load`` (of
    :func:`start_pool`) gives them the settings the copy or folder lacks."""
    if not onnx_precision:
        options = {"backend": "torch"}
        return start_pool(model, target_devices, save_copy=True, load_options=options, after_load=after_load)
    devices = list(target_devices) if target_devices is not None else _cpu_workers()
    elsewhere = [d for d in devices if not str(d).startswith("cpu")]
    if elsewhere:
        raise InputError(
            f"A {type(model).__name__} on backend='onnx' runs on the CPU, not on {elsewhere}; start the pool "
            "with CPU devices (e.g. ['cpu', 'cpu']), or load the model with backend='torch' for a GPU."
        )
    file_name = {"model_kwargs": {"file_name": INT8_FILE}} if onnx_precision == "int8" else {}
    return start_pool(model, devices, load_options={"backend": "onnx", **file_name}, after_load=after_load)


@contextmanager
def call_pool(
    model: Any, pool: dict[str, Any] | None, devices: Sequence[Any] | None
) -> Iterator[dict[str, Any]]:
    """``pool``, or one on ``devices`` started for this call only (``encode(device=[...])``) and stopped
    after it."""
    if pool is not None:
        yield pool
        return
    pool = model.start_multi_process_pool([str(device) for device in devices or ()])
    try:
        yield pool
    finally:
        model.stop_multi_process_pool(pool)


def stop_pool(pool: dict[str, Any]) -> None:
    for process in pool["processes"]:
        process.terminate()
    for process in pool["processes"]:
        process.join()
        process.close()
    pool["input"].cancel_join_thread()  # as sentence-transformers' stop does: also for its pools
    pool["input"].close()
    pool["output"].close()
    if pool.get("saved_model") is not None:
        pool["saved_model"]()


def pool_chunks(pool: dict[str, Any], texts: Sequence[Any], chunk_size: int | None) -> list[Sequence[Any]]:
    """``texts`` cut into the chunks a pool's workers run apart, as sentence-transformers cuts them."""
    if chunk_size is None:  # sentence-transformers' default: about 10 chunks per worker, at most 5,000
        chunk_size = min(math.ceil(len(texts) / len(pool["processes"]) / 10), 5000)
    if not isinstance(chunk_size, int) or chunk_size < 1:
        raise InputError(f"chunk_size must be a positive integer, got {chunk_size!r}.")  # its words
    return [texts[start : start + chunk_size] for start in range(0, len(texts), chunk_size)]


def encode_on_pool(
    pool: dict[str, Any],
    texts: Sequence[Any],
    chunk_size: int | None,
    options: dict[str, Any],
    join: Callable[[list[Any]], Any] | None = None,
) -> Any:
    """Float32 ``(n, d)`` embeddings of ``texts`` (a cross-encoder's pool: logits of pairs; a multi-vector
    encoder's: a list of one item per text), chunks run by the pool's workers with ``options`` (prompt, task
    and batching of :meth:`SentenceTransformer.encode`); ``join``: what makes one output of the chunks'
    outputs, in input order (a SparseEncoder's tensors)."""
    chunks = pool_chunks(pool, texts, chunk_size)
    _check_sendable(options)
    call = uuid.uuid4().hex  # answers left over from an earlier call that failed are told apart and dropped
    for index, chunk in enumerate(chunks):
        pool["input"].put((call, index, chunk, options))
    results: dict[int, np.ndarray] = {}
    waited = 0.0
    while len(results) < len(chunks):
        try:
            answer_call, index, embeddings = pool["output"].get(timeout=POLL_S)
        except queue.Empty:
            waited += POLL_S
            dead = [p for p in pool["processes"] if not p.is_alive()]
            if dead:  # sentence-transformers' words
                details = ", ".join(f"pid {p.pid} (exit code {p.exitcode})" for p in dead)
                raise RuntimeError(
                    f"{len(dead)} multi-process pool worker(s) died unexpectedly: {details}. "
                    "Stop the pool and start a new one before retrying."
                ) from None
            if waited >= RESULT_TIMEOUT_S:
                raise RuntimeError("a worker hangs; stop the pool and start a new one") from None
            continue
        waited = 0.0  # the timeout is per answer
        if answer_call != call:
            continue
        if isinstance(embeddings, BaseException):
            raise embeddings
        results[index] = embeddings
    ordered = [results[i] for i in range(len(chunks))]
    if join is not None:
        return join(ordered)
    if isinstance(ordered[0], list):  # a MultiVectorEncoder's items, one per text
        return [item for chunk in ordered for item in chunk]
    return np.concatenate(ordered)


def _check_sendable(options: dict[str, Any]) -> None:
    """The queue pickles in a background thread, where a failure is only printed and the chunk never
    arrives: options the workers cannot receive are refused here instead."""
    try:
        pickle.dumps(options)
    except Exception as error:
        raise InputError(
            f"The encode options cannot be sent to the pool's worker processes ({error}): a token_pooling "
            "or other option holding a lambda or local function cannot be pickled. Use a module-level "
            "function (or HierarchicalTokenPooling), or encode without the pool."
        ) from error


def _default_devices() -> list[str]:
    try:
        import torch

        if torch.cuda.is_available():
            return [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    except ImportError:
        pass
    return _cpu_workers()


def _cpu_workers() -> list[str]:
    """The default devices without an accelerator, logged as sentence-transformers logs them."""
    notice = "No supported multi-process accelerator is available. Starting %d CPU workers"
    _LOGGER.info(notice, DEFAULT_CPU_WORKERS)
    return ["cpu"] * DEFAULT_CPU_WORKERS


def _core_shares(workers: int) -> list[set[int] | None]:
    """The CPUs each worker is pinned to: the process's CPUs split into ``workers`` near-equal shares
    (shared round-robin when there are more workers than CPUs); None where pinning is not available."""
    try:
        cpus = sorted(os.sched_getaffinity(0))[: available_cpus()]
    except AttributeError:  # not on Linux
        return [None] * workers
    if workers >= len(cpus):
        return [{cpus[i % len(cpus)]} for i in range(workers)]
    bounds = [round(i * len(cpus) / workers) for i in range(workers + 1)]
    return [set(cpus[bounds[i] : bounds[i + 1]]) for i in range(workers)]


def _work(
    model_class: type,
    folder: str,
    device: str,
    settings: dict[str, Any],
    cpus: set[int] | None,
    inputs: Any,
    outputs: Any,
) -> None:
    if cpus is not None and device == "cpu":
        os.sched_setaffinity(0, cpus)  # before the model starts its thread pools: they size to these CPUs
    max_seq_length, method = settings.pop("max_seq_length"), settings.pop("method")
    after_load = settings.pop("after_load")
    model = model_class(folder, device=device, **settings)
    if model.max_seq_length != max_seq_length:  # the caller's (a StaticEmbedding's inf cannot be set)
        model.max_seq_length = max_seq_length
    if after_load is not None:
        function, state = after_load
        function(model, state)
    run = getattr(model, method)
    while True:
        call, index, texts, options = inputs.get()
        try:
            result: Any = run(texts, show_progress_bar=False, **options)
        except Exception as e:  # sent back: the caller raises it
            result = e
        outputs.put((call, index, result))
