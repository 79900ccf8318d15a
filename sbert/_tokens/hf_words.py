"""A Hugging Face tokenizer as a word-embedding table's tokenizer: sentence-transformers 6's
``TransformersTokenizerWrapper`` (``WordEmbeddings(tokenizer=AutoTokenizer...)``), with the ``encode`` /
``pad`` interface of :class:`sbert._tokens.whitespace.WhitespaceTokenizer` so batching works unchanged.

Each text's ids are the tokenizer's, special tokens included (as ``tokenizer(text)["input_ids"]`` there);
padding id 0, right padding.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .whitespace import DEFAULT_MAX_LENGTH, WhitespaceTokenizer, WordEncoding

# Written to WordEmbeddings' config: the class path sentence-transformers 6 writes for this tokenizer.
CLASS_PATH = "sentence_transformers.sentence_transformer.modules.tokenizer.word.TransformersTokenizerWrapper"


class HfWordTokenizer:
    """Token ids of a Hugging Face tokenizer, padded as :class:`WhitespaceTokenizer` pads word ids."""

    padding_side = "right"
    pad_token_id = 0
    model_max_length = None
    configured_max_length = None
    do_lower_case = False  # the tokenizer normalizes on its own
    pad = WhitespaceTokenizer.pad
    # at most max_length ids per text, cut at the end (as sentence-transformers)
    encode = WhitespaceTokenizer.encode
    max_length = WhitespaceTokenizer.max_length

    def __init__(self, tokenizer: Any, *, max_length: int = DEFAULT_MAX_LENGTH) -> None:
        self.tokenizer = tokenizer
        self.max_length = max_length

    @property
    def word2idx(self) -> dict[str, int]:
        return self.tokenizer.get_vocab()

    def get_vocab(self) -> dict[str, int]:
        return self.tokenizer.get_vocab()

    def encode_untruncated(self, texts: Sequence[str]) -> list[WordEncoding]:
        fast = getattr(self.tokenizer, "is_fast", False)
        encodings = []
        for text in texts:
            encoded = self.tokenizer(text, return_offsets_mapping=fast)
            offsets = [tuple(span) for span in encoded["offset_mapping"]] if fast else []
            ids = list(encoded["input_ids"])
            encodings.append(WordEncoding(ids, offsets or [(0, 0)] * len(ids)))
        return encodings

    def encode_padded(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        return self.pad(self.encode(texts))

    def save(self, folder: str | Path) -> None:
        self.tokenizer.save_pretrained(str(folder))

    @classmethod
    def load(cls, folder: str | Path) -> HfWordTokenizer:
        from transformers import AutoTokenizer

        return cls(AutoTokenizer.from_pretrained(str(folder), use_fast=True))
