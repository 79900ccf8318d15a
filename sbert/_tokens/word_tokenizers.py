"""sentence-transformers' word tokenizers as its ``modules.tokenizer`` package holds them (the names of that
path and of its files ``word``, ``whitespace`` and ``phrase``, :mod:`sbert._module_paths`)."""

from __future__ import annotations

from . import whitespace
from .phrase import PhraseTokenizer
from .whitespace import WhitespaceTokenizer
from .word import TransformersTokenizerWrapper, WordTokenizer

# a list, as sentence-transformers' (callers extend it); the tokenizers' default is the same words
ENGLISH_STOP_WORDS = list(whitespace.ENGLISH_STOP_WORDS)

__all__ = [
    "WordTokenizer",
    "WhitespaceTokenizer",
    "PhraseTokenizer",
    "ENGLISH_STOP_WORDS",
    "TransformersTokenizerWrapper",
]
