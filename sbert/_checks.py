"""Argument checks shared by the whole package: text lists, batches and positive integers.

Each check is written once here so every caller gives the same message for the same mistake.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import numpy as np

from ._errors import InputError, InputTypeError


def check_texts(
    sentences: Any,
    *,
    name: str = "sentences",
    allow_string: bool = True,
    error: type[Exception] = InputTypeError,
    type_name: Callable[[Any], str] = lambda value: type(value).__name__,
    sequence: str = "list",
) -> list[str]:
    """Return ``sentences`` as a list of str, or raise ``error`` naming the first bad item.

    One string becomes a one-item list (refused when not ``allow_string``). An empty sequence is allowed
    (it encodes to a ``(0, d)`` array). ``name``, ``type_name`` and ``sequence`` word the messages for the
    caller: encode's arguments, an index's texts, a JSON request's field ("array", JSON type names).
    """
    texts = _listed(sentences, name, allow_string, error, type_name, sequence)
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise error(f"{name}[{i}] is {type_name(text)}, not a string: every item must be a string.")
    return texts


def check_texts_or_pairs(sentences: Any, *, name: str = "sentences") -> list[str | tuple[str, str]]:
    """``encode``'s inputs: texts as :func:`check_texts`, where any item may be a text pair instead
    (sentence-transformers embeds ``[a, b]`` as one input, ``[CLS] a [SEP] b [SEP]``, and each item as it
    is, so texts and pairs mix). Raises InputTypeError (a TypeError and a ValueError) naming the first item
    that is neither a string nor a pair of two strings."""
    items = _listed(sentences, name, True, InputTypeError, lambda value: type(value).__name__, "list")
    if not any(isinstance(item, (list, tuple)) for item in items):
        return check_texts(items, name=name)
    out = []
    for i, item in enumerate(items):
        if isinstance(item, str):
            out.append(item)
            continue
        if not (isinstance(item, (list, tuple)) and len(item) == 2 and all(isinstance(t, str) for t in item)):
            raise InputTypeError(
                f"{name}[{i}] is {type(item).__name__} {item!r:.80}: pass strings or text pairs "
                "[text, text_pair] of two strings."
            )
        out.append((item[0], item[1]))
    return out


def _listed(
    sentences: Any,
    name: str,
    allow_string: bool,
    error: type[Exception],
    type_name: Callable[[Any], str],
    sequence: str,
) -> list[Any]:
    """``sentences`` as a list of its items (not yet checked), or ``error`` for what is not a sequence."""
    expected = f"a {sequence} of strings"
    if isinstance(sentences, str):
        if allow_string:
            return [sentences]
        raise error(f"{name} must be {expected}, not a single string: wrap it in a {sequence}.")
    expected = f"a string or {expected}" if allow_string else expected
    if sentences is None:
        raise error(f"{name} is None: pass {expected}.")
    if isinstance(sentences, (bytes, bytearray)):
        raise error(f"{name} must be str, not bytes: decode it first, e.g. data.decode('utf-8').")
    if isinstance(sentences, dict):
        raise error(f"{name} must be {expected}, not {type_name(sentences)}.")
    if isinstance(sentences, np.ndarray):
        if sentences.ndim == 0:  # np.array("text") holds one item: checked as that item is
            return _listed(sentences.item(), name, allow_string, error, type_name, sequence)
        sentences = sentences.tolist()
    try:
        return list(sentences)
    except TypeError:
        raise error(f"{name} must be {expected}, got {type_name(sentences)}.") from None


def is_sequence_batch(value: Any) -> bool:
    """Whether ``value`` is a list, a tuple or a ``datasets`` Column: the sequences sentence-transformers'
    ``is_singular_input`` takes for a batch (a Column exists only once datasets is imported, so it is looked
    up there, never imported)."""
    column = getattr(sys.modules.get("datasets"), "Column", None)
    return isinstance(value, (list, tuple)) or (isinstance(column, type) and isinstance(value, column))


def is_single_input(inputs: Any) -> bool:
    """Whether ``inputs`` is one input rather than a batch, by sentence-transformers' ``is_singular_input``
    rule: a list, tuple, ``datasets`` Column or text array is a batch, except a list of chat messages (one
    conversation)."""
    if isinstance(inputs, list) and inputs and isinstance(inputs[0], dict):
        if {"role", "content"} <= inputs[0].keys():
            return True
    text_array = isinstance(inputs, np.ndarray) and inputs.ndim >= 1 and inputs.dtype.kind in "UO"
    return not (is_sequence_batch(inputs) or text_array)


def is_positive_int(value: Any) -> bool:
    """True for an integer >= 1, Python's or numpy's (``bool`` is not a number here)."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value >= 1


def check_positive_int(name: str, value: Any, *, optional: bool = False) -> None:
    """Raise InputError unless ``value`` is an int >= 1 (or ``None`` when ``optional``)."""
    if optional and value is None:
        return
    if not is_positive_int(value):
        allowed = " or None" if optional else ""
        raise size_error(value)(f"{name} must be a positive integer{allowed}, got {value!r}.")


def check_sequence_length(name: str, value: Any) -> None:
    """Raise unless ``value`` is an int >= 2, a token limit (``max_seq_length``): the error of
    :func:`size_error`."""
    if not is_positive_int(value) or value < 2:
        raise size_error(value)(f"{name} must be an int >= 2, got {value!r}")


def size_error(value: Any) -> type[InputError]:
    """The error for ``value`` refused as a size: an InputTypeError (also a ``TypeError``, as Python's
    ``range`` and slicing raise it under sentence-transformers) where it is no integer at all (``1.5``,
    ``"4"``, ``None``), else an InputError (a ``ValueError``)."""
    number = isinstance(value, (int, np.integer)) and not isinstance(value, bool)
    return InputError if number else InputTypeError
