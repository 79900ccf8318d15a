"""Batching for encode: length-sorted batches packed by a token budget, tokenized ahead of compute.

Pure planning (``plan_batches``) is separate from the thread that tokenizes (``prepared_batches``).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from .chat import is_message

# Texts are tokenized in chunks of this many, one chunk ahead of the model, so tokenization overlaps
# compute and memory stays bounded for huge inputs. Sorting happens within a chunk. The first chunk is
# small so the model starts almost at once instead of waiting for a full chunk.
CHUNK_SIZE = 8192
FIRST_CHUNK_SIZE = 512
# ... and of at most about this many characters: a tokenizer's encodings keep every token of a text, the
# part past the length limit too (about 31 bytes per character: 8,192 texts of 20 KB took 5 GB), where
# sentence-transformers tokenizes 32 texts at a time. A text longer than this is a chunk of its own.
CHUNK_CHARACTERS = 1 << 20


# Batch limits by precision, measured on a 2-core AMX CPU (docs/benchmarks.md): (texts, padded tokens).
# fp32 keeps sentence-transformers' 32 texts (on a GPU; a CPU's fp32 and int8: CPU_BATCH_LIMITS); bf16/fp16
# GEMMs gain from bigger batches of short texts, but more than ~8k padded tokens (32 texts of 256) slows long
# ones. Long texts get smaller batches, keeping memory and attention cost bounded.
BATCH_LIMITS = {"fp32": (32, 16384), "int8": (32, 16384), "bf16": (128, 8192), "fp16": (128, 8192)}
DEFAULT_MAX_BATCH_TOKENS = BATCH_LIMITS["fp32"][1]
# On a CPU, fp32 and int8 batches do best at about 1-3k padded tokens: short texts gain from more than 32 per
# batch (each op's fixed cost shared by more rows: +6 % at 64 texts of 15 tokens, +15 % in int8) and long ones
# from fewer (cache-sized attention: +2 % at 14 texts of 208 tokens than at 32), while 32 texts of 73 tokens
# were already there. Measured on an AVX-512 EPYC (docs/benchmarks.md, ninth session).
CPU_BATCH_LIMITS = {"fp32": (64, 3072), "int8": (64, 3072)}


def batch_limits(precision: str, device: object) -> tuple[int, int]:
    """Default ``(texts, padded tokens)`` per batch for ``precision`` on ``device`` (``"cpu"``, ``"cuda:0"``,
    a torch device, ...)."""
    if str(device).startswith("cpu") and precision in CPU_BATCH_LIMITS:
        return CPU_BATCH_LIMITS[precision]
    return BATCH_LIMITS[precision]


def plan_batches(lengths: Sequence[int], *, max_batch_size: int, max_tokens: int) -> list[np.ndarray]:
    """Group indices into batches, longest first, so that each batch's padded size
    ``len(batch) * longest`` stays within ``max_tokens`` and ``len(batch) <= max_batch_size``.

    A single text longer than the budget still gets a batch of its own.
    """
    order = np.argsort(-np.asarray(lengths, dtype=np.int64), kind="stable")
    batches: list[np.ndarray] = []
    start = 0
    while start < len(order):
        longest = max(int(lengths[order[start]]), 1)  # sorted: the first is the longest
        size = max(1, min(max_batch_size, max_tokens // longest))
        batches.append(order[start : start + size])
        start += size
    return batches


# sentence-transformers' encode default: this many texts per batch
ST_BATCH_SIZE = 32


def pads_on_the_left(tokenizer: Any) -> bool:
    """Whether ``tokenizer`` pads on the left: an encoder with absolute positions then gives each text
    numbers that depend on its batch's width, so only sentence-transformers' own batches give its numbers."""
    return getattr(tokenizer, "padding_side", "right") == "left"


# Encoder families (config.json's model_type) whose numbers for a text depend on the padding its batch adds,
# whichever side it is on: Funnel mean-pools neighbouring positions, padded ones included; ConvBERT's span
# convolution and Nyströmformer's value convolution read padded positions; FNet mixes all positions by a
# Fourier transform and takes no attention mask; BigBird's attention (block-sparse or full) is chosen by the
# batch's width.
PADDING_MIXING_FAMILIES = frozenset({"funnel", "convbert", "nystromformer", "fnet", "big_bird"})


def batch_dependent(tokenizer: Any, model_type: str | None) -> bool:
    """Whether a text's numbers depend on the batch it is padded in, for ``tokenizer`` and an encoder of
    ``model_type``: then only sentence-transformers' own batches (:func:`sentence_transformers_batches`)
    give its numbers."""
    return pads_on_the_left(tokenizer) or model_type in PADDING_MIXING_FAMILIES


def st_order(texts: Sequence[Any]) -> np.ndarray:
    """The order sentence-transformers' encode batches ``texts`` in: longest first by characters (a pair:
    both texts')."""
    lengths = [input_length(t) for t in texts]
    return np.argsort([-n for n in lengths])  # its own call: ties fall as they do there


def input_length(item: Any) -> int:
    """sentence-transformers 6.3's ``_input_length``, the size its batches sort by: characters of a text, a
    pair's or a list's (summed), a chat message's text content, a conversation's; an array's or tensor's
    element count; a dict's values summed; 1 for anything else (an empty list, ``None``, a number)."""
    if isinstance(item, str):
        return len(item)
    if isinstance(item, (tuple, list)) and item and not is_message(item[0]):
        return sum(input_length(part) for part in item)
    if isinstance(item, dict):
        if "array" in item:
            return input_length(item["array"])
        if "content" in item:
            content = item["content"]
            if isinstance(content, str):
                return len(content)
            if isinstance(content, list):
                return sum(len(str(p.get("text", ""))) for p in content if isinstance(p, dict))
            return 1
        return sum(input_length(value) for value in item.values())
    if isinstance(item, list) and item:  # a conversation: its messages
        return sum(input_length(message) for message in item)
    if isinstance(item, np.ndarray):
        return int(item.size)
    if hasattr(item, "nelement"):  # a torch tensor (torch is not imported here)
        return int(item.nelement())
    return 1


def sentence_transformers_batches(
    texts: Sequence[Any],
    encode: Callable[[Sequence[Any]], list[Any]],
    pad: Callable[[Sequence[Any]], dict[str, np.ndarray]],
    *,
    batch_size: int,
    on_chunk: Callable[[list[Any]], None] | None = None,
) -> Iterator[tuple[np.ndarray, dict[str, np.ndarray]]]:
    """``(input indices, padded batch)`` pairs as sentence-transformers' encode makes them: texts longest
    first by characters (a pair: both texts'), ``batch_size`` at a time, each batch padded to its longest."""
    order = st_order(texts)
    for start in range(0, len(order), batch_size):
        indices = order[start : start + batch_size]
        encodings = encode([texts[i] for i in indices])
        if on_chunk is not None:
            on_chunk(encodings)
        yield indices, pad(encodings)


def tokenizer_chunks(texts: Sequence[Any]) -> list[range]:
    """``texts`` cut into consecutive chunks for the tokenizer: the first of at most FIRST_CHUNK_SIZE texts,
    the others of CHUNK_SIZE, each of at most CHUNK_CHARACTERS characters unless one text is longer."""
    ends = np.cumsum([input_length(text) for text in texts], dtype=np.int64)
    chunks: list[range] = []
    start = 0
    while start < len(texts):
        limit = FIRST_CHUNK_SIZE if start == 0 else CHUNK_SIZE
        before = int(ends[start - 1]) if start else 0
        within_budget = int(np.searchsorted(ends, before + CHUNK_CHARACTERS, side="right"))
        end = min(start + limit, max(within_budget, start + 1), len(texts))
        chunks.append(range(start, end))
        start = end
    return chunks


def prepared_batches(
    texts: Sequence[str],
    encode: Callable[[Sequence[str]], list[Any]],
    pad: Callable[[Sequence[Any]], dict[str, np.ndarray]],
    *,
    max_batch_size: int,
    max_tokens: int,
    on_chunk: Callable[[list[Any]], None] | None = None,
) -> Iterator[tuple[np.ndarray, dict[str, np.ndarray]]]:
    """Yield ``(input indices, padded batch)`` pairs; a background thread tokenizes the next chunk.

    ``encode`` and ``pad`` come from the tokenizer; the Rust tokenizer releases the GIL, so the thread
    runs while the model computes. ``on_chunk`` sees each chunk's encodings (e.g. to count truncations).
    """
    chunks = tokenizer_chunks(texts)
    results: queue.Queue = queue.Queue(maxsize=1)

    def tokenize_chunks() -> None:
        try:
            for chunk in chunks:
                encodings = encode([texts[i] for i in chunk])
                results.put((chunk.start, encodings))
        except BaseException as e:  # hand the error to the consumer
            results.put(e)

    worker = threading.Thread(target=tokenize_chunks, name="sbert-tokenize", daemon=True)
    worker.start()
    try:
        for _ in chunks:
            item = results.get()
            if isinstance(item, BaseException):
                raise item
            offset, encodings = item
            if on_chunk is not None:
                on_chunk(encodings)
            lengths = [len(e.ids) for e in encodings]
            for batch in plan_batches(lengths, max_batch_size=max_batch_size, max_tokens=max_tokens):
                yield batch + offset, pad([encodings[i] for i in batch])
    finally:
        # Unblock the worker if the consumer stopped early, then let it finish.
        while worker.is_alive():
            try:
                results.get(timeout=0.05)
            except queue.Empty:
                pass
