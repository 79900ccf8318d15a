"""Static embeddings without torch: read a StaticEmbedding or model2vec folder, average its vectors in numpy.

Both the torch module (``static_embedding``) and the numpy backend (``sbert._backends.static_runner``) read
their files here, so the two never disagree on what a folder means.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .._errors import ModelLoadError
from .._format.weights import (
    PICKLE_WEIGHTS,
    check_encoder_weights,
    check_safetensors_file,
    read_numpy_tensors,
)
from .._tokens.tokenizer import TextTokenizer

WEIGHTS_FILE = "model.safetensors"
TOKENIZER_FILE = "tokenizer.json"
ST_WEIGHTS_KEY = "embedding.weight"  # sentence-transformers' StaticEmbedding (an nn.EmbeddingBag)
MODEL2VEC_KEY = "embeddings"  # model2vec, optionally with a token "mapping" and per-token "weights"
# A static model reads whole texts: no limit unless its tokenizer.json sets one.
NO_LIMIT = 10**9 - 1
# sentence-transformers' StaticEmbedding holds a bare ``tokenizers.Tokenizer``: these of its names, which
# client code calls on ``model[0].tokenizer``, reach the one this tokenizer wraps.
_TOKENIZERS_NAMES = frozenset(
    {"get_vocab_size", "encode_batch", "encode_batch_fast", "token_to_id", "id_to_token", "to_str"}
    | {"decode_batch", "get_added_tokens_decoder", "num_special_tokens_to_add", "post_process"}
    | {"normalizer", "pre_tokenizer", "post_processor", "decoder", "model", "padding", "truncation"}
    | {"no_padding", "no_truncation", "enable_padding", "enable_truncation"}
)


class StaticTokenizer(TextTokenizer):
    """A tokenizer for static models: no special tokens and no padding, as sentence-transformers'
    StaticEmbedding tokenizes; a truncation saved in ``tokenizer.json`` still applies, as it does there."""

    def __init__(self, backend: Any) -> None:
        backend.no_padding()
        saved = backend.truncation  # read before the base class sets its own limit
        super().__init__(backend, {TOKENIZER_FILE: backend.to_str().encode("utf-8")}, max_length=NO_LIMIT)
        if saved:
            self.configured_max_length = int(saved["max_length"])
            self.truncation_side = str(saved.get("direction", "right")).lower()
            self.max_length = self.configured_max_length

    @classmethod
    def from_file(cls, path: Path) -> StaticTokenizer:
        from tokenizers import Tokenizer

        try:
            return cls(Tokenizer.from_file(str(path)))
        except Exception as e:  # the Rust parser raises plain Exception subclasses
            raise ModelLoadError(f"{path} is not a valid tokenizer file: {e}") from e

    @TextTokenizer.max_length.setter
    def max_length(self, value: int) -> None:
        self._max_length = int(value)
        if self._max_length < NO_LIMIT:
            self.backend.enable_truncation(self._max_length, direction=self.truncation_side)
        else:
            self.backend.no_truncation()

    def _reset_backend(self) -> None:
        """Nothing: sentence-transformers' StaticEmbedding holds a bare ``tokenizers.Tokenizer``, whose
        truncation and padding a caller sets for good."""

    def __getattr__(self, name: str) -> Any:
        if name in _TOKENIZERS_NAMES:
            return getattr(self.backend, name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def encode(self, texts: Sequence[str], *args: Any, **options: Any) -> Any:
        """Encodings of ``texts`` without special tokens (a static model has no [CLS]/[SEP] vectors). One
        string gives the ``tokenizers.Encoding`` of ``Tokenizer.encode(text, ...)``, as calling
        sentence-transformers' module's ``tokenizer.encode`` does."""
        if isinstance(texts, str):
            return self.backend.encode(texts, *args, **options)
        return self.encode_texts(texts)

    def encode_texts(self, texts: Sequence[str]) -> list[Any]:
        return self.backend.encode_batch(list(texts), add_special_tokens=False)

    def encode_pairs(self, pairs: Sequence[tuple[str, str]]) -> list[Any]:
        """Encodings of text pairs as one bag of both texts' tokens, without special tokens, as
        sentence-transformers' StaticEmbedding tokenizes a cross-encoder's pair."""
        return self.backend.encode_batch([(a, b) for a, b in pairs], add_special_tokens=False)


def table_dtype(stored: np.dtype) -> np.dtype:
    """The dtype a static table computes in: float16 and float64 stay as stored, as sentence-transformers
    keeps the table it loads (its encode gives numbers of that dtype); every other dtype is widened to
    float32."""
    return np.dtype(stored) if stored in (np.float16, np.float64) else np.dtype(np.float32)


def read_static_folder(folder: Path, *, allow_pickle: bool = False) -> tuple[StaticTokenizer, np.ndarray]:
    """The tokenizer and the ``(vocab, dim)`` table of a StaticEmbedding or model2vec folder (float32, or
    float16 or float64 where the file stores that dtype); a table sentence-transformers saved with
    ``safe_serialization=False`` (``pytorch_model.bin``) with ``allow_pickle`` only."""
    weights_path, tokenizer_path = folder / WEIGHTS_FILE, folder / TOKENIZER_FILE
    if not weights_path.is_file() and (folder / PICKLE_WEIGHTS[0]).is_file():
        weights_path = check_encoder_weights(folder, allow_pickle=allow_pickle)  # refused without it
    for path in (weights_path, tokenizer_path):
        if not path.is_file():
            raise ModelLoadError(
                f"{path} is missing: a static embedding folder holds {WEIGHTS_FILE} and {TOKENIZER_FILE}."
            )
    if weights_path.suffix == ".safetensors":
        check_safetensors_file(weights_path)
    tensors = read_numpy_tensors(weights_path)
    if ST_WEIGHTS_KEY in tensors:
        table = tensors[ST_WEIGHTS_KEY]
    elif MODEL2VEC_KEY in tensors:
        table = fold_model2vec(tensors[MODEL2VEC_KEY], tensors.get("mapping"), tensors.get("weights"))
    else:
        raise ModelLoadError(
            f"{weights_path} holds neither {ST_WEIGHTS_KEY!r} (sentence-transformers) nor {MODEL2VEC_KEY!r} "
            f"(model2vec); found {sorted(tensors)}."
        )
    tokenizer = StaticTokenizer.from_file(tokenizer_path)
    if table.ndim != 2 or table.shape[0] < tokenizer.backend.get_vocab_size():
        raise ModelLoadError(
            f"{weights_path}: a table of shape {table.shape} does not cover the "
            f"{tokenizer.backend.get_vocab_size()} tokens of {tokenizer_path}."
        )
    return tokenizer, np.ascontiguousarray(table, dtype=table_dtype(table.dtype))


def fold_model2vec(
    embeddings: np.ndarray, mapping: np.ndarray | None = None, weights: np.ndarray | None = None
) -> np.ndarray:
    """One row per token id: ``embeddings[mapping[id]] * weights[id]``, what model2vec averages over; a
    float16 table stays float16 unless weighted (the product is float32), a float64 one float64, as
    sentence-transformers folds it (the product in the wider of the two dtypes, then rounded)."""
    table = np.asarray(embeddings)
    table = table.astype(table_dtype(table.dtype), copy=False)
    if mapping is not None:
        table = table[np.asarray(mapping, dtype=np.int64)]
    if weights is not None:
        weights = np.asarray(weights)
        dtype = np.promote_types(table.dtype, np.float32)
        wide = np.promote_types(dtype, weights.dtype)
        table = (table.astype(wide) * weights.astype(wide)[:, None]).astype(dtype)
    return table


def mean_embeddings(table: np.ndarray, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
    """The mean of each row's token vectors ``(B, d)``; a row without tokens (an empty text) gives zeros.

    A float16 table gives float16 means computed as torch's float16 ``EmbeddingBag`` does on a CPU: the sum
    in float32, rounded to float16, then divided by the count and rounded again."""
    mask = attention_mask.astype(np.float32)[:, :, None]  # (B, T, 1)
    wide = np.promote_types(table.dtype, np.float32)  # float64 tables sum in float64, as torch's do
    sums = (table[input_ids].astype(wide, copy=False) * mask).sum(axis=1)  # (B, d)
    counts = np.maximum(mask.sum(axis=1), 1.0)  # (B, 1)
    if table.dtype == np.float16:
        return (sums.astype(np.float16).astype(np.float32) / counts).astype(np.float16)
    return sums / counts
