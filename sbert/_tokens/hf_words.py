"""A Hugging Face tokenizer as a word-embedding table's tokenizer: sentence-transformers 6's
``TransformersTokenizerWrapper`` (``WordEmbeddings(tokenizer=AutoTokenizer...)``), with the ``encode`` /
``pad`` interface of :class:`sbert._tokens.whitespace.WhitespaceTokenizer` so batching works unchanged.

Each text's ids are the tokenizer's, special tokens included (as ``tokenizer(text)["input_ids"]`` there);
padding id 0, right padding.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from .hf_methods import own_call
from .whitespace import WordEncoding, WrappedWordIds

# Written to WordEmbeddings' config: the class path sentence-transformers 6 writes for this tokenizer.
CLASS_PATH = "sentence_transformers.sentence_transformer.modules.tokenizer.word.TransformersTokenizerWrapper"


class HfWordTokenizer(WrappedWordIds):
    """Token ids of a Hugging Face tokenizer, padded as :class:`WhitespaceTokenizer` pads word ids."""

    @property
    def word2idx(self) -> dict[str, int]:
        return self.tokenizer.get_vocab()

    def get_vocab(self) -> dict[str, int]:
        return self.tokenizer.get_vocab()

    def encode_untruncated(self, texts: Sequence[str]) -> list[WordEncoding]:
        fast = getattr(self.tokenizer, "is_fast", False)
        encodings = []
        for text in texts:
            encoded = own_call(self.tokenizer, text, return_offsets_mapping=fast)
            offsets = [tuple(span) for span in encoded["offset_mapping"]] if fast else []
            ids = list(encoded["input_ids"])
            encodings.append(WordEncoding(ids, offsets or [(0, 0)] * len(ids)))
        return encodings

    def save(self, folder: str | Path) -> None:
        self.tokenizer.save_pretrained(str(folder))

    @classmethod
    def load(cls, folder: str | Path) -> HfWordTokenizer:
        from transformers import AutoTokenizer

        return cls(AutoTokenizer.from_pretrained(str(folder), use_fast=True))
