"""BoW: an input module that gives each text a vector with one entry per vocabulary word, that word's weight
(an idf, say) times its count in the text: the bag-of-words and tf-idf vectors of sentence-transformers'
``BoW``."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .._errors import TOKENIZE_RENAMED, InputError, log_renamed_once
from .._st_loggers import ST_BOW, ST_INPUT_MODULE
from .._tokens.whitespace import WhitespaceTokenizer
from .base import InputModule
from .config_module import ConfigModule, build_from_config
from .loading import st_loading
from .word_weights import word_weights_of


class BoW(ConfigModule, InputModule):
    """Texts -> ``(B, len(vocab))`` vectors: entry ``i`` is ``weights[i]`` times the count of word ``i`` in
    the text (or once, with ``cumulative_term_frequency=False``).

    Words are split on whitespace and looked up as sentence-transformers' ``WhitespaceTokenizer`` does
    (as written, without punctuation, lowercased; no stop words); the vocabulary keeps a word's first
    occurrence only.

    Args:
        vocab: the words, one entry of the vector each.
        word_weights: a weight per word (looked up as written, then lowercased), e.g. idf values.
        unknown_word_weight: the weight of a vocabulary word without one (default 1).
        cumulative_term_frequency: count repeated words (default), or weigh each word once.

    Example::

        bow = BoW(vocab, word_weights=idf)
        model = SentenceTransformer(modules=[bow])  # tf-idf vectors of len(vocab) entries
    """

    config_keys = ["vocab", "word_weights", "unknown_word_weight", "cumulative_term_frequency"]
    save_in_root = False  # an input module saved in its own folder, as sentence-transformers saves BoW
    takes_token_type_ids = False
    do_lower_case = False  # the tokenizer looks words up lowercased itself

    def __init__(
        self,
        vocab: Sequence[str],
        word_weights: Mapping[str, float] | None = None,
        unknown_word_weight: float = 1,
        cumulative_term_frequency: bool = True,
    ) -> None:
        super().__init__()
        word_weights = {} if word_weights is None else word_weights
        if isinstance(vocab, str) or not all(isinstance(w, str) for w in vocab):
            raise InputError("vocab must be a list of words (str).")
        if not isinstance(word_weights, Mapping):
            kind = type(word_weights).__name__
            raise InputError(f"word_weights must be a dict word -> weight, got {kind}.")
        self.vocab = list(dict.fromkeys(vocab))
        self.word_weights = dict(word_weights)
        self.unknown_word_weight = unknown_word_weight
        self.cumulative_term_frequency = bool(cumulative_term_frequency)
        weights = word_weights_of(self.vocab, self.word_weights, unknown_word_weight, ST_BOW, "out of")
        # not a parameter and not saved, as in sentence-transformers: the config rebuilds it
        self.register_buffer("weights", torch.tensor(weights, dtype=torch.float32), persistent=False)
        self.tokenizer = WhitespaceTokenizer(self.vocab, stop_words=(), do_lower_case=False)

    def tokenize(self, texts: list[str]) -> dict[str, torch.Tensor]:
        """Word ids and attention mask as ``(B, T)`` tensors."""
        log_renamed_once(TOKENIZE_RENAMED, ST_INPUT_MODULE)  # when called from outside sbert
        return self.to_features(self.tokenizer.encode_padded(texts))

    def to_features(self, batch: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
        return {name: torch.from_numpy(batch[name]) for name in ("input_ids", "attention_mask")}

    def forward(self, features: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        ids, mask = features["input_ids"], features["attention_mask"]  # (B, T) each
        counts = torch.zeros(ids.shape[0], len(self.vocab), device=ids.device)  # (B, V)
        counts.scatter_add_(1, ids, mask.to(counts.dtype))  # each word's count (padding adds 0)
        if not self.cumulative_term_frequency:
            counts = (counts > 0).to(counts.dtype)
        features["sentence_embedding"] = counts * self.weights
        return features

    def get_embedding_dimension(self) -> int:
        return len(self.vocab)

    def save(self, folder: str | os.PathLike, *args: Any, **kwargs: Any) -> None:
        """``config.json`` only, as sentence-transformers saves it: the weights come from the config."""
        text = json.dumps(self.get_config_dict(), indent=4)
        (Path(folder) / self.config_file_name).write_text(text, encoding="utf-8")

    @classmethod
    @st_loading
    def load(cls, folder: str | os.PathLike, **options: Any) -> BoW:
        return build_from_config(cls, folder)
