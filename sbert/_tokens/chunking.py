"""Long texts -> token windows on the model's own tokenizer, each with its character span; and their mean.

A text longer than ``chunk_tokens`` content tokens is cut into windows of ``chunk_tokens`` tokens that
overlap by ``chunk_overlap`` tokens (the last one may be shorter). Each window is embedded as the text
``text[start:end]`` through the normal encode path, so the tokenizer adds the special tokens ([CLS], [SEP])
and the prompt to every window as it does to any text. The windows of a text cover it from its first to its
last character; a text that fits in one window is one window holding the whole text, so it embeds exactly
as it does without chunking. Nothing here runs a model: the caller embeds the window texts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._checks import is_positive_int
from .._errors import InputError
from .batching import tokenizer_chunks


@dataclass(frozen=True)
class Window:
    """Characters ``start:end`` of a text, holding ``tokens`` of its tokens (special tokens not counted)."""

    start: int
    end: int
    tokens: int


@dataclass(frozen=True)
class Chunk:
    """One window of a text and its embedding, as ``SentenceTransformer.encode_chunks`` returns it.

    ``text`` is ``original[start:end]``; ``tokens`` counts its content tokens (the weight of this window
    in ``encode(..., chunk_tokens=N)``); ``embedding`` is what ``encode`` gives for ``text``: float32
    ``(d,)``.
    """

    start: int
    end: int
    text: str
    tokens: int
    embedding: np.ndarray


def check_chunking(chunk_tokens: Any, chunk_overlap: Any) -> None:
    if not is_positive_int(chunk_tokens):
        raise InputError(
            f"chunk_tokens must be a positive integer (tokens per window), got {chunk_tokens!r}."
        )
    if not (is_positive_int(chunk_overlap) or _is_zero(chunk_overlap)):
        raise InputError(f"chunk_overlap must be an integer >= 0, got {chunk_overlap!r}.")
    if chunk_overlap >= chunk_tokens:
        raise InputError(
            f"chunk_overlap must be smaller than chunk_tokens, got chunk_overlap={chunk_overlap} with "
            f"chunk_tokens={chunk_tokens}: each window must move forward."
        )


def _is_zero(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value == 0


def window_limit(tokenizer: Any, prompt: str | None) -> int:
    """The most content tokens a window may hold: ``max_seq_length`` less the special and prompt tokens."""
    overhead = len(tokenizer.encode_texts([prompt or ""])[0].ids)
    return tokenizer.max_length - overhead


def plan_windows(
    tokenizer: Any,
    texts: Sequence[str],
    chunk_tokens: int,
    chunk_overlap: int = 0,
    *,
    prompt: str | None = None,
) -> list[list[Window]]:
    """The windows of every text (one list per text, in order), on ``tokenizer`` (a ``TextTokenizer``;
    one of a ``do_lower_case`` model lowercases in its normalizer, so the offsets index the text as given).
    Raises ``InputError`` for bad sizes or windows that would not fit the model.
    """
    check_chunking(chunk_tokens, chunk_overlap)
    limit = window_limit(tokenizer, prompt)
    if chunk_tokens > limit:
        with_prompt = " and the prompt" if prompt else ""
        raise InputError(
            f"chunk_tokens={chunk_tokens} does not fit this model: a window holds at most {limit} tokens "
            f"(max_seq_length {tokenizer.max_length} less the special tokens{with_prompt}); "
            f"pass chunk_tokens <= {limit}."
        )
    windows = []
    for chunk in tokenizer_chunks(texts):  # bounded: an encoding holds every token of its text
        part = [texts[i] for i in chunk]
        for text, encoding in zip(part, tokenizer.encode_untruncated(part)):
            windows.append(split_offsets(encoding.offsets, len(text), chunk_tokens, chunk_overlap))
    return windows


def split_offsets(
    offsets: Sequence[tuple[int, int]], length: int, chunk_tokens: int, chunk_overlap: int
) -> list[Window]:
    """Windows over tokens with character ``offsets`` in a text of ``length`` characters."""
    n = len(offsets)
    if n <= chunk_tokens:
        return [Window(0, length, n)]
    step = chunk_tokens - chunk_overlap
    windows = []
    for first in range(0, n, step):
        last = min(first + chunk_tokens, n)  # one past the window's last token
        start = 0 if first == 0 else offsets[first][0]
        end = length if last == n else offsets[last - 1][1]
        windows.append(Window(start, end, last - first))
        if last == n:
            break
    return windows


def window_texts(texts: Sequence[str], plans: Sequence[Sequence[Window]]) -> list[str]:
    """The text of every window, all texts' windows in one flat list."""
    return [text[w.start : w.end] for text, windows in zip(texts, plans) for w in windows]


def chunks_of(
    texts: Sequence[str], plans: Sequence[Sequence[Window]], embeddings: np.ndarray
) -> list[list[Chunk]]:
    """Pair the windows with their embeddings ``(windows, d)``, in the order of :func:`window_texts`."""
    out: list[list[Chunk]] = []
    row = 0
    for text, windows in zip(texts, plans):
        vectors = embeddings[row : row + len(windows)]
        out.append(
            [Chunk(w.start, w.end, text[w.start : w.end], w.tokens, v) for w, v in zip(windows, vectors)]
        )
        row += len(windows)
    return out


def chunk_means(chunks: Sequence[Sequence[Chunk]], dimension: int) -> np.ndarray:
    """One float32 vector per text ``(n, d)``: the mean of its chunks' embeddings weighted by their tokens.

    ``dimension`` is the width of the result when there are no texts.
    """
    if not chunks:
        return np.empty((0, dimension), dtype=np.float32)
    out = []
    for windows in chunks:
        vectors = np.stack([c.embedding for c in windows]).astype(np.float64)  # (w, d)
        weights = np.array([max(c.tokens, 1) for c in windows], dtype=np.float64)  # an empty text weighs 1
        out.append(weights @ vectors / weights.sum())
    return np.asarray(out, dtype=np.float32)
