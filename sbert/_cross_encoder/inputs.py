"""Checks of a cross-encoder's inputs: pairs of texts, a query and its documents. Written once, for predict,
rank and the callers that batch themselves (the server)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from .._checks import check_texts, check_texts_or_pairs
from .._errors import InputError


def is_single_pair(sentences: Any) -> bool:
    """sentence-transformers' rule: a list or tuple whose first item is not itself a list or tuple is one
    pair, ``("query", "document")``; a list of such pairs is a batch."""
    if isinstance(sentences, np.ndarray):
        sentences = sentences.tolist()
    return (
        isinstance(sentences, (list, tuple))
        and len(sentences) > 0
        and not isinstance(sentences[0], (list, tuple))
    )


def check_pairs(sentences: Any) -> tuple[list[tuple[str, str]], bool]:
    """``(pairs, single)``: the pairs as ``(str, str)`` tuples and whether one pair was given.

    Raises InputError naming the first item that is not a pair of two strings.
    """
    if isinstance(sentences, str) or not isinstance(sentences, Iterable):  # None, a number: ST's ValueError
        raise InputError(
            f"sentences must be a pair of texts or a list of pairs, got {type(sentences).__name__}: "
            'pass [("query", "document"), ...].'
        )
    single = is_single_pair(sentences)
    if isinstance(sentences, np.ndarray):  # numpy strings as Python ones, a 1-D pair included
        sentences = sentences.tolist()
    items = [sentences] if single else list(sentences)
    pairs = []
    for i, item in enumerate(items):
        where = "sentences" if single else f"sentences[{i}]"
        if not isinstance(item, (list, tuple)) or len(item) != 2:
            raise InputError(f"{where} must be a pair of two texts (query, document), got {item!r:.80}.")
        for side, text in enumerate(item):
            if not isinstance(text, str):
                raise InputError(f"{where}[{side}] is {type(text).__name__}, not a string.")
        pairs.append((item[0], item[1]))
    return pairs, single


def check_query_documents(query: Any, documents: Any) -> list[str]:
    """The documents as a list of str, or InputError naming the first that is not a string."""
    if not isinstance(query, str):
        raise InputError(f"query must be a string, got {type(query).__name__}.")
    return check_texts(documents, name="documents", allow_string=False, error=InputError)


def check_prompts(prompts: Any, default_prompt_name: str | None) -> dict[str, str]:
    """A cross-encoder's named prompts (text -> text), with ``default_prompt_name`` one of them."""
    if not isinstance(prompts, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in prompts.items()
    ):
        raise InputError(f"prompts must be a dict of prompt names to prompt texts, got {prompts!r}")
    if default_prompt_name is not None and default_prompt_name not in prompts:
        raise InputError(
            f"default_prompt_name {default_prompt_name!r} is not one of the model's prompts {sorted(prompts)}"
        )
    return prompts


def resolved_prompt(
    prompts: dict[str, str], default_prompt_name: str | None, prompt: str | None, prompt_name: str | None
) -> str | None:
    """The prompt of one call (sentence-transformers' order: ``prompt``, then ``prompt_name``, then the
    model's default name), None where none applies: a user's ``preprocess`` gets it as there."""
    if prompt is not None:
        return prompt
    name = prompt_name if prompt_name is not None else default_prompt_name
    if name is None:
        return None
    if name not in prompts:
        known = sorted(prompts) or "none"
        raise InputError(
            f"Unknown prompt name {name!r}; this model's prompts are {known}. Pass prompt='...'."
        )
    return prompts[name]


def with_pair_prompt(pairs: list[tuple[str, str]], prompt: str) -> list[tuple[str, str]]:
    """The prompt before the first text of every pair (the query), as sentence-transformers puts it."""
    return [(prompt + first, second) for first, second in pairs] if prompt else pairs


class PromptedTokenizer:
    """A pair tokenizer that puts ``prompt`` before the first text of every pair and before a text alone, as
    ``CrossEncoder.predict`` puts it; everything else is ``tokenizer``'s."""

    def __init__(self, tokenizer: Any, prompt: str) -> None:
        self.tokenizer, self.prompt = tokenizer, prompt

    def encode_pairs(self, pairs: Sequence[tuple[str, str]]) -> list[Any]:
        return self.tokenizer.encode_pairs(with_pair_prompt(list(pairs), self.prompt))

    def encode_texts(self, texts: Sequence[str]) -> list[Any]:
        return self.tokenizer.encode_texts([self.prompt + text for text in texts])

    def __getattr__(self, name: str) -> Any:  # pad, decode, max_length, ...
        return getattr(self.tokenizer, name)


def preprocess_items(inputs: Any, prompt: str = "") -> list[str | tuple[str, str]]:
    """``preprocess``'s inputs as sentence-transformers' Transformer reads them: each item a text, a
    ``{"text": ...}`` dict or a pair of texts, ``prompt`` before each text (a pair's first). A tuple of two
    texts alone, which predict reads as one pair, is refused: wrap it in a list."""
    if isinstance(inputs, tuple) and is_single_pair(inputs):
        raise InputError("preprocess takes a list of pairs: wrap one pair in a list, [(query, doc)].")
    if isinstance(inputs, list):  # sentence-transformers' modality dicts of text
        inputs = [
            item["text"] if isinstance(item, dict) and list(item) == ["text"] else item for item in inputs
        ]
    items = [
        item if isinstance(item, str) else tuple(item) for item in check_texts_or_pairs(inputs, name="inputs")
    ]
    if not prompt:
        return items
    return [prompt + item if isinstance(item, str) else (prompt + item[0], item[1]) for item in items]
