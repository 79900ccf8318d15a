"""The module sbert's tokenizer class names as its own (``type(model.tokenizer).__module__``).

sentence-transformers' ``model.tokenizer`` is a transformers tokenizer, and libraries choose how to drive a
tokenizer by its class's path: chonkie's ``AutoTokenizer`` (used by its SemanticChunker and LateChunker)
wraps one whose ``str(type(tokenizer))`` holds "transformers" as a transformers tokenizer (``encode(text,
add_special_tokens=False)``, ``batch_decode``), and anything else callable as a bare token counter, whose
counts are then the BatchEncoding it returns. Under this path sbert's tokenizer passes that test, and pickle
still finds the class here. Importing it imports neither torch nor transformers.
"""

from __future__ import annotations

from typing import Any

_CLASSES = ("TextTokenizer",)

__all__ = list(_CLASSES)


def __getattr__(name: str) -> Any:
    if name not in _CLASSES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from .tokenizer import TextTokenizer

    return TextTokenizer
