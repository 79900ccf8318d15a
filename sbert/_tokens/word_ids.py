"""Any word tokenizer as a word-embedding table's tokenizer: sentence-transformers' ``WordEmbeddings`` takes
every ``WordTokenizer`` (``PhraseTokenizer``, a user's subclass), whose ``tokenize(text)`` gives a text's
word ids; this wrapper adds the ``encode`` / ``pad`` interface of
:class:`sbert._tokens.whitespace.WhitespaceTokenizer`, so batching works unchanged, and hands everything
else (``vocab``, ``set_vocab``, ``save``, ...) to the tokenizer it wraps.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .whitespace import WordEncoding, WrappedWordIds


class WordIdTokenizer(WrappedWordIds):
    """The word ids of ``tokenizer.tokenize``, at most ``max_length`` per text, right-padded with id 0."""

    def __getattr__(self, name: str) -> Any:
        # only for names this class lacks: the wrapped tokenizer's own (vocab, word2idx, set_vocab, ...)
        if name == "tokenizer":
            raise AttributeError(name)
        return getattr(self.tokenizer, name)

    def tokenize(self, text: str, **kwargs: Any) -> list[int]:
        return list(self.tokenizer.tokenize(text, **kwargs))

    def encode_untruncated(self, texts: Sequence[str]) -> list[WordEncoding]:
        # a word tokenizer gives ids only: no character spans
        return [WordEncoding(ids, [(0, 0)] * len(ids)) for ids in map(self.tokenize, texts)]

    def save(self, folder: str | Path) -> None:
        self.tokenizer.save(str(folder))
