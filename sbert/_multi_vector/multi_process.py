"""sentence-transformers' multi-process encoding of a MultiVectorEncoder: ``encode(..., pool=pool,
chunk_size=...)`` and ``encode(..., device=[...])``, on sbert's worker pool (:mod:`sbert._multiprocess`;
``start_multi_process_pool``: :mod:`sbert._pipeline_model`).

The workers load a copy of the model saved when the pool starts (on torch: its modules as they are then) or,
on ``backend="onnx"``, the folder its graph was built from; then they take the parent's module settings that
the folder does not hold (:func:`worker_settings`), as sentence-transformers' workers, which get the model
itself when the pool starts, see them. Each chunk is encoded with the call's resolved options (prompt, task,
token pooling, ``truncate_dim``) and comes back as numpy arrays; the parent puts the items back in input
order, CPU tensors where torch is installed, as sentence-transformers returns them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from .._errors import torch_installed
from .encode_options import EncodeOptions
from .task_inputs import TASK_SETTINGS

# on ONNX the Transformer's settings (the tokenizer carries max_seq_length, lower-casing and prefix tokens);
# on torch the saved copy holds them
_TRANSFORMER_STATE = ("tokenizer", "do_lower_case", "processing_kwargs", *TASK_SETTINGS)
# the mask's token ids as resolved, which may predate a change of its words (sentence-transformers keeps them)
_MASK_STATE = ("skiplist_words", "skiplist_tasks", "keep_only_token_ids", "skiplist_ids")


def worker_settings(model: Any) -> tuple[Callable[[Any, Any], None], dict[int, dict[str, Any]]]:
    """The pool's ``after_load``: the settings of :func:`worker_state`, the Transformer's only on ONNX (on
    torch the saved copy holds them)."""
    return apply_state, worker_state(model, transformer=model.get_backend() == "onnx")


def worker_state(model: Any, *, transformer: bool = True) -> dict[int, dict[str, Any]]:
    """``{module index: {attribute: value}}``: the settings of ``model``'s Transformer (with ``transformer``)
    and MultiVectorMask as they are now."""
    state = {}
    for index, module in enumerate(model):
        if hasattr(module, "skiplist_ids"):
            state[index] = {key: getattr(module, key) for key in _MASK_STATE}
    if transformer:
        state[0] = {key: getattr(model[0], key) for key in _TRANSFORMER_STATE}
    return state


def apply_state(model: Any, state: dict[int, dict[str, Any]]) -> None:
    """In a worker: ``state`` of :func:`worker_state` onto the model it loaded."""
    for index, settings in state.items():
        for key, value in settings.items():
            setattr(model[index], key, value)


def encode_with_pool(
    model: Any,
    texts: list[Any],
    options: EncodeOptions,
    pool: dict[str, Any] | None,
    devices: Sequence[Any] | None,
    chunk_size: int | None,
) -> list[Any]:
    """One item per text of ``texts``, encoded by ``pool``'s workers (or by a pool on ``devices`` started
    for this call only)."""
    from .._multiprocess import call_pool, encode_on_pool

    if not texts:
        return []
    worker_options = {
        "prompt": options.prompt or "",  # resolved here: the workers add no default prompt
        "task": options.task,
        "batch_size": options.batch_size,
        "output_value": options.output_value,
        "normalize_embeddings": options.normalize,
        "truncate_dim": options.truncate_dim,
        "token_pooling": options.token_pooling,
        "convert_to_numpy": options.output_value is not None,
    }
    if options.processing_kwargs is not None:
        worker_options["processing_kwargs"] = options.processing_kwargs
    with call_pool(model, pool, devices) as running:
        items = encode_on_pool(running, texts, chunk_size, worker_options)
    assert isinstance(items, list)
    if options.output_value is not None and torch_installed():
        import torch

        items = [torch.from_numpy(item) for item in items]
    return items
