"""A fake encoder: deterministic vectors from token ids, no weights, no torch.

``FakeEncoder`` has the parts of :class:`~sbert.SentenceTransformer` that the server, the CLI and search
use (``encode``, ``tokenizer``, ``similarity``, ``get_sentence_embedding_dimension``, ``max_seq_length``,
``prompts``), so they can be tested without a real model, as httpx tests clients with its mock transport.

A text's vector is the mean of fixed random vectors of its tokens: equal texts get equal vectors, texts
that share words get similar ones, and a text's vector does not depend on the batch it was encoded in.
Optional delays make it as slow as a real model, to test queues, timeouts and shutdown.
"""

from __future__ import annotations

import dataclasses
import re
import time
import zlib
from collections.abc import Sequence
from typing import Any

import numpy as np

from ._checks import check_texts
from ._errors import InputError
from ._numeric import SIMILARITY_FUNCTIONS, normalize, similarity_matrix

PAD_ID, UNK_ID, CLS_ID, SEP_ID = 0, 1, 2, 3
_FIRST_WORD_ID = 4
_WORD = re.compile(r"\w+|[^\w\s]")


@dataclasses.dataclass
class FakeEncoding:
    """The fields of a ``tokenizers.Encoding`` that sbert reads."""

    ids: list[int]
    tokens: list[str]
    offsets: list[tuple[int, int]]
    special_tokens_mask: list[int]
    overflowing: list[FakeEncoding]

    @property
    def type_ids(self) -> list[int]:
        return [0] * len(self.ids)

    @property
    def attention_mask(self) -> list[int]:
        return [1] * len(self.ids)


@dataclasses.dataclass
class FakeTokenizer:
    """Lower-cased words and punctuation, hashed into ``vocab_size`` ids, between [CLS] and [SEP]."""

    vocab_size: int = 4096
    max_length: int = 128
    truncation_side: str = "right"
    padding_side: str = "right"
    pad_token_id: int = PAD_ID

    def encode_texts(self, texts: Sequence[str]) -> list[FakeEncoding]:
        """Encodings of ``texts``, truncated to ``max_length`` tokens (special tokens included)."""
        return [self._encode_one(text) for text in texts]

    def _encode_one(self, text: str) -> FakeEncoding:
        words = [(m.group().lower(), m.span()) for m in _WORD.finditer(text)]
        room = self.max_length - 2  # [CLS] and [SEP] count
        if len(words) <= room:
            kept, cut = words, []
        elif self.truncation_side == "right":
            kept, cut = words[:room], words[room:]
        else:
            kept, cut = words[len(words) - room :], words[: len(words) - room]
        ids = [CLS_ID, *(self.token_id(w) for w, _ in kept), SEP_ID]
        tokens = ["[CLS]", *(w for w, _ in kept), "[SEP]"]
        offsets = [(0, 0), *(span for _, span in kept), (0, 0)]
        special = [1, *([0] * len(kept)), 1]
        rest = FakeEncoding(
            [self.token_id(w) for w, _ in cut], [w for w, _ in cut], [s for _, s in cut], [0] * len(cut), []
        )
        return FakeEncoding(ids, tokens, offsets, special, [rest] if cut else [])

    def token_id(self, word: str) -> int:
        return _FIRST_WORD_ID + zlib.crc32(word.encode("utf-8", "surrogatepass")) % (
            self.vocab_size - _FIRST_WORD_ID
        )

    def pad_encodings(self, encodings: Sequence[FakeEncoding]) -> dict[str, np.ndarray]:
        """Pad encodings to the longest into int64 arrays ``(B, T)``, as ``TextTokenizer.pad_encodings``
        does."""
        width = max((len(e.ids) for e in encodings), default=0)
        ids = np.full((len(encodings), width), self.pad_token_id, dtype=np.int64)
        mask = np.zeros((len(encodings), width), dtype=np.int64)
        for row, encoding in enumerate(encodings):
            ids[row, : len(encoding.ids)] = encoding.ids
            mask[row, : len(encoding.ids)] = 1
        return {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}

    def with_truncation_side(self, side: str) -> FakeTokenizer:
        return dataclasses.replace(self, truncation_side=side)


class FakeEncoder:
    """A stand-in for :class:`~sbert.SentenceTransformer` that needs no model files.

    Args:
        dimension: size of the vectors.
        max_seq_length: texts are truncated to this many tokens, [CLS] and [SEP] included.
        seed: seed of the token vectors; encoders with the same seed and dimension agree.
        delay: seconds each batch takes, on top of ``token_delay`` seconds per padded token, to imitate
            a real model's speed (the sleep releases the GIL, as real inference does).
        prompts: named prompts, prepended to texts by callers that take a ``prompt_name``.

    Example::

        from sbert import FakeEncoder
        model = FakeEncoder(dimension=8)
        model.encode(["a cat", "a dog"]).shape   # (2, 8)
    """

    backend = "fake"
    precision = "fp32"
    device = "cpu"

    def __init__(
        self,
        dimension: int = 32,
        *,
        max_seq_length: int = 128,
        seed: int = 0,
        delay: float = 0.0,
        token_delay: float = 0.0,
        prompts: dict[str, str] | None = None,
        similarity_fn_name: str = "cosine",
        name: str = "fake",
    ) -> None:
        for field, value in (("dimension", dimension), ("max_seq_length", max_seq_length)):
            smallest = 2 if field == "max_seq_length" else 1  # room for [CLS] and [SEP]
            if not isinstance(value, int) or isinstance(value, bool) or value < smallest:
                raise InputError(f"{field} must be an int >= {smallest}, got {value!r}")
        if similarity_fn_name not in SIMILARITY_FUNCTIONS:
            raise InputError(
                f"Unknown similarity function {similarity_fn_name!r}; choose from {SIMILARITY_FUNCTIONS}."
            )
        self.tokenizer = FakeTokenizer(max_length=max_seq_length)
        self.delay = float(delay)
        self.token_delay = float(token_delay)
        self.prompts = dict(prompts or {})
        self.similarity_fn_name = similarity_fn_name
        self.name_or_path = name
        rng = np.random.default_rng(seed)
        # (vocab, d): one fixed random vector per token id
        self._table = rng.standard_normal((self.tokenizer.vocab_size, dimension)).astype(np.float32)

    def __repr__(self) -> str:
        return (
            f"FakeEncoder(dimension={self.get_embedding_dimension()}, max_seq_length={self.max_seq_length})"
        )

    @property
    def max_seq_length(self) -> int:
        return self.tokenizer.max_length

    @max_seq_length.setter
    def max_seq_length(self, value: int) -> None:
        self.tokenizer.max_length = value

    def get_embedding_dimension(self) -> int:
        return int(self._table.shape[1])

    get_sentence_embedding_dimension = get_embedding_dimension  # the older name, quiet here

    def embed_batch(self, batch: dict[str, np.ndarray]) -> np.ndarray:
        """Vectors ``(B, d)`` of a padded batch: each row the mean of its tokens' vectors."""
        ids, mask = batch["input_ids"], batch["attention_mask"]
        if self.delay or self.token_delay:
            time.sleep(self.delay + self.token_delay * ids.size)
        out = np.empty((len(ids), self._table.shape[1]), dtype=np.float32)
        # Row by row over the real tokens only, so padding cannot change a single bit of a vector.
        for i, (row, m) in enumerate(zip(ids, mask)):
            out[i] = self._table[row[m.astype(bool)]].mean(axis=0)
        return out

    def encode(
        self,
        sentences: str | Sequence[str],
        *,
        batch_size: int = 32,
        normalize_embeddings: bool = False,
        **_ignored: Any,
    ) -> np.ndarray:
        """Like ``SentenceTransformer.encode``: float32 ``(n, d)`` for a list, ``(d,)`` for one string."""
        texts = check_texts(sentences)
        out = np.empty((len(texts), self.get_sentence_embedding_dimension()), dtype=np.float32)
        for start in range(0, len(texts), batch_size):
            chunk = self.tokenizer.encode_texts(texts[start : start + batch_size])
            out[start : start + len(chunk)] = self.embed_batch(self.tokenizer.pad_encodings(chunk))
        if normalize_embeddings:
            out = normalize(out)
        return out[0] if isinstance(sentences, str) else out

    def similarity(self, a: Any, b: Any) -> np.ndarray:
        return similarity_matrix(
            np.asarray(a, np.float32), np.asarray(b, np.float32), self.similarity_fn_name
        )
