"""The base class of sentence-transformers' word tokenizers (``WordTokenizer``: vocabulary in, word ids out,
saved as a JSON config) and its wrapper of a transformers tokenizer, as its ``modules.tokenizer.word``."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from typing import Any


class WordTokenizer(ABC):
    """What a word tokenizer of a WordEmbeddings model provides: its vocabulary, a text's word ids, and its
    own save / load of a folder."""

    @abstractmethod
    def set_vocab(self, vocab: Iterable[str]) -> None: ...

    @abstractmethod
    def get_vocab(self, *args: Any) -> Any: ...

    @abstractmethod
    def tokenize(self, text: str, **kwargs: Any) -> list[int]: ...

    @abstractmethod
    def save(self, output_path: str) -> None: ...

    @staticmethod
    @abstractmethod
    def load(input_path: str) -> WordTokenizer: ...


class TransformersTokenizerWrapper(WordTokenizer):
    """A transformers tokenizer as a :class:`WordTokenizer`: its ``input_ids`` of one text, its vocabulary
    (which ``set_vocab`` leaves as it is), saved with ``save_pretrained``."""

    def __init__(self, tokenizer: Any) -> None:
        super().__init__()
        self.tokenizer = tokenizer

    def tokenize(self, sentence: str) -> list[int]:  # type: ignore[override]
        return self.tokenizer(sentence)["input_ids"]

    def set_vocab(self, vocab: Iterable[str]) -> None:
        pass

    def get_vocab(self, vocab: Iterable[str]) -> dict[str, int]:  # type: ignore[override]
        return self.tokenizer.get_vocab()

    def save(self, output_path: str) -> None:
        self.tokenizer.save_pretrained(output_path)

    @staticmethod
    def load(input_path: str) -> TransformersTokenizerWrapper:
        from transformers import AutoTokenizer

        return TransformersTokenizerWrapper(AutoTokenizer.from_pretrained(input_path, use_fast=True))
