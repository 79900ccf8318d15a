"""Argument checks shared by the whole package: text lists and positive integers.

Each check is written once here so every caller gives the same message for the same mistake.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._errors import InputError


def check_texts(sentences: Any) -> list[str]:
    """Return ``sentences`` as a list of str, or raise TypeError naming the first bad item.

    One string becomes a one-item list. An empty sequence is allowed (it encodes to a ``(0, d)`` array).
    """
    if sentences is None:
        raise TypeError("sentences is None: pass a string or a list of strings.")
    if isinstance(sentences, str):
        return [sentences]
    if isinstance(sentences, (bytes, bytearray)):
        raise TypeError("sentences must be str, not bytes: decode it first, e.g. data.decode('utf-8').")
    if isinstance(sentences, dict):
        raise TypeError("sentences must be a string or a list of strings, not a dict.")
    if isinstance(sentences, np.ndarray):
        sentences = sentences.tolist()
    try:
        texts = list(sentences)
    except TypeError:
        raise TypeError(
            f"sentences must be a string or a list of strings, got {type(sentences).__name__}."
        ) from None
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise TypeError(f"sentences[{i}] is {type(text).__name__}, not str: every item must be a string.")
    return texts


def is_positive_int(value: Any) -> bool:
    """True for an ``int`` >= 1 (``bool`` is not a number here)."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def check_positive_int(name: str, value: Any, *, optional: bool = False) -> None:
    """Raise InputError unless ``value`` is an int >= 1 (or ``None`` when ``optional``)."""
    if optional and value is None:
        return
    if not is_positive_int(value):
        allowed = " or None" if optional else ""
        raise InputError(f"{name} must be a positive integer{allowed}, got {value!r}.")
