"""WordEmbeddings: an input module that looks words up in a table of static vectors (GloVe, word2vec),
the first module of the classic average-word-embedding models."""

from __future__ import annotations

import gzip
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from .._errors import TOKENIZE_RENAMED, InputError, ModelLoadError, log_renamed_once
from .._format.layout import module_config
from .._st_loggers import ST_INPUT_MODULE
from .._tokens import hf_words
from .._tokens.phrase import PhraseTokenizer
from .._tokens.tokenizer import is_transformers_tokenizer
from .._tokens.whitespace import DEFAULT_MAX_LENGTH, WhitespaceTokenizer
from .._tokens.word import TransformersTokenizerWrapper, WordTokenizer
from .._tokens.word_ids import WordIdTokenizer
from .base import InputModule
from .config_module import ConfigModule, read_weights
from .loading import st_loading

CONFIG_FILE = "wordembedding_config.json"
# Written to the config: the classic import paths every sentence-transformers release resolves.
TOKENIZER_CLASS = "sentence_transformers.models.tokenizer.WhitespaceTokenizer"
PHRASE_TOKENIZER_CLASS = "sentence_transformers.models.tokenizer.PhraseTokenizer"


class WordEmbeddings(ConfigModule, InputModule):
    """Word ids (B, T) -> token embeddings (B, T, D) from an ``nn.Embedding`` table (row 0: padding).

    Args:
        tokenizer: a word tokenizer whose vocabulary indexes the table (:class:`WhitespaceTokenizer`,
            ``PhraseTokenizer`` or another ``WordTokenizer``), or a Hugging Face tokenizer whose token ids do
            (sentence-transformers 6 takes one; its special tokens count).
        embedding_weights: the ``(vocabulary, D)`` table (numpy, torch or nested lists).
        update_embeddings: train the table too (frozen by default, as in sentence-transformers).
        max_seq_length: words kept per text.
    """

    config_file_name = CONFIG_FILE
    # sentence-transformers' names of its settings (get_config_dict writes them; tokenizer_class is a path)
    config_keys = ["tokenizer_class", "update_embeddings", "max_seq_length"]
    save_in_root = True  # a first module is saved at the model's root, as sentence-transformers does
    do_lower_case = False  # the tokenizer lowercases on its own
    takes_token_type_ids = False

    def __init__(
        self,
        tokenizer: Any,
        embedding_weights: Any,
        update_embeddings: bool = False,
        max_seq_length: int = DEFAULT_MAX_LENGTH,
    ) -> None:
        super().__init__()
        if isinstance(tokenizer, TransformersTokenizerWrapper):  # sentence-transformers' wrapper of one
            tokenizer = tokenizer.tokenizer
        if is_transformers_tokenizer(tokenizer):
            tokenizer = hf_words.HfWordTokenizer(tokenizer)
        elif _is_word_tokenizer(tokenizer) and not isinstance(tokenizer, WhitespaceTokenizer):
            tokenizer = WordIdTokenizer(tokenizer)  # PhraseTokenizer, a user's: padded as the whitespace ids
        elif not isinstance(tokenizer, (WhitespaceTokenizer, hf_words.HfWordTokenizer, WordIdTokenizer)):
            raise InputError(
                "tokenizer must be a WordTokenizer (WhitespaceTokenizer, PhraseTokenizer, ...) or a Hugging "
                f"Face tokenizer, got {type(tokenizer).__name__}"
            )
        weights = torch.as_tensor(np.asarray(embedding_weights), dtype=torch.float32)
        if weights.dim() != 2 or weights.shape[0] < len(tokenizer.word2idx):
            raise InputError(
                f"embedding_weights must be (vocabulary, dim) with a row per word of the tokenizer's "
                f"{len(tokenizer.word2idx)}; got shape {tuple(weights.shape)}"
            )
        # a new table filled with the weights, as sentence-transformers builds it: its initial draws from
        # torch's global generator are theirs (code that seeds, builds or loads, then draws gets the same)
        self.emb_layer = nn.Embedding(*weights.shape)
        with torch.no_grad():
            self.emb_layer.weight.copy_(weights)
        self.emb_layer.weight.requires_grad_(bool(update_embeddings))
        self.tokenizer = tokenizer
        self.update_embeddings = bool(update_embeddings)
        self.max_seq_length = max_seq_length

    max_seq_length = property(
        lambda self: self.tokenizer.max_length,
        lambda self, value: setattr(self.tokenizer, "max_length", value),
        doc="Words kept per text: the tokenizer's limit.",
    )

    def get_embedding_dimension(self) -> int:
        return int(self.emb_layer.embedding_dim)

    def tokenize(self, texts: list[str]) -> dict[str, torch.Tensor]:
        """Word ids and attention mask as ``(B, T)`` tensors, and each text's ``sentence_lengths`` ``(B,)``
        (sentence-transformers' features)."""
        log_renamed_once(TOKENIZE_RENAMED, ST_INPUT_MODULE)  # when called from outside sbert
        features = self.to_features(self.tokenizer.encode_padded(texts))
        features["sentence_lengths"] = features["attention_mask"].sum(dim=1)
        return features

    def preprocess(
        self, inputs: list[str], prompt: str | None = None, **kwargs: Any
    ) -> dict[str, torch.Tensor]:
        """sentence-transformers 6's name of :meth:`tokenize`, with ``prompt`` before each text."""
        return self.tokenize([prompt + text for text in inputs] if prompt else list(inputs))

    def to_features(self, batch: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
        return {name: torch.from_numpy(batch[name]) for name in ("input_ids", "attention_mask")}

    def forward(self, features: dict[str, torch.Tensor], **kwargs: Any) -> dict[str, torch.Tensor]:
        features["token_embeddings"] = self.emb_layer(features["input_ids"])  # (B, T, D)
        return features

    def get_config_dict(self) -> dict[str, Any]:
        return {
            "tokenizer_class": _class_path(self.tokenizer),
            "update_embeddings": self.update_embeddings,
            "max_seq_length": self.max_seq_length,
        }

    def save(self, folder: str | os.PathLike, *args: Any, **kwargs: Any) -> None:
        super().save(folder)
        self.tokenizer.save(folder)

    @classmethod
    @st_loading
    def load(cls, folder: str | os.PathLike, *, allow_pickle: bool = False, **options: Any) -> WordEmbeddings:
        path, config = module_config(Path(folder), "WordEmbeddings")
        tokenizer_class = config.pop("tokenizer_class", TOKENIZER_CLASS)
        # a fixed pair of classes by name, never an import of whatever the config says
        readers = {
            ".WhitespaceTokenizer": WhitespaceTokenizer,
            ".TransformersTokenizerWrapper": hf_words.HfWordTokenizer,
            ".PhraseTokenizer": PhraseTokenizer,
        }
        reader = next((r for end, r in readers.items() if str(tokenizer_class).endswith(end)), None)
        if not isinstance(tokenizer_class, str) or reader is None:
            raise ModelLoadError(
                f"{path}: tokenizer_class {tokenizer_class!r} is not supported; "
                "sbert reads WhitespaceTokenizer, PhraseTokenizer and TransformersTokenizerWrapper."
            )
        weights = read_weights(folder, allow_pickle=allow_pickle).get("emb_layer.weight")
        if weights is None:
            raise ModelLoadError(f"{folder}: the weights have no 'emb_layer.weight' table")
        try:
            return cls(reader.load(folder), weights, **config)
        except (TypeError, ValueError) as e:  # InputError is a ValueError
            raise ModelLoadError(f"{path}: invalid WordEmbeddings config ({e})") from e

    @classmethod
    def from_text_file(
        cls,
        embeddings_file_path: str | os.PathLike,
        update_embeddings: bool = False,
        item_separator: str = " ",
        tokenizer: WordTokenizer | None = None,
        max_vocab_size: int | None = None,
    ) -> WordEmbeddings:
        """Read a local GloVe/word2vec text file (``.gz`` too): a word and its vector per line. Row 0 of the
        table is a zero padding vector; lines of another width are skipped."""
        words, vectors = ["PADDING_TOKEN"], []
        path = Path(embeddings_file_path)
        with (
            gzip.open(path, "rt", encoding="utf8")
            if path.suffix == ".gz"
            else open(path, encoding="utf8") as f
        ):
            for line in f:
                word, *values = line.rstrip().split(item_separator)
                if not vectors and len(values) == 1:  # word2vec's "count dim" header line
                    continue
                if vectors and len(values) != len(vectors[0]):
                    continue
                vectors.append([float(v) for v in values])
                words.append(word)
                if max_vocab_size and len(words) > max_vocab_size:
                    break
        if not vectors:
            raise InputError(f"{path} holds no word vectors")
        tokenizer = tokenizer or WhitespaceTokenizer()
        tokenizer.set_vocab(words)
        table = np.vstack([np.zeros(len(vectors[0])), np.asarray(vectors)])
        return cls(tokenizer, table, update_embeddings=update_embeddings)


def _is_word_tokenizer(tokenizer: Any) -> bool:
    """Whether ``tokenizer`` is a ``WordTokenizer``, sbert's or sentence-transformers' (by the class name of
    its base, as sentence-transformers' own module is not imported)."""
    return isinstance(tokenizer, WordTokenizer) or any(
        kind.__name__ == "WordTokenizer" for kind in type(tokenizer).__mro__
    )


def _class_path(tokenizer: Any) -> str:
    """The ``tokenizer_class`` of the config: a path sentence-transformers imports."""
    if isinstance(tokenizer, hf_words.HfWordTokenizer):
        return hf_words.CLASS_PATH
    if isinstance(tokenizer, WordIdTokenizer):
        kind = type(tokenizer.tokenizer)
        if kind is PhraseTokenizer:
            return PHRASE_TOKENIZER_CLASS
        return f"{kind.__module__}.{kind.__qualname__}"  # sentence-transformers' or a user's own class
    return TOKENIZER_CLASS
