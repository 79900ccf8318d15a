"""sentence-transformers' ``PhraseTokenizer``: NLTK's word tokens, the phrases of the vocabulary (word2vec's
``New_York``) joined into one token, stop words dropped, ids from the vocabulary. Needs ``nltk``."""

from __future__ import annotations

import json
import logging
import os
import string
from collections.abc import Iterable
from importlib.util import find_spec

from .whitespace import ENGLISH_STOP_WORDS
from .word import WordTokenizer

logger = logging.getLogger(__name__)


class PhraseTokenizer(WordTokenizer):
    """Word tokens of a text, the vocabulary's phrases of up to ``max_ngram_length`` words (their words joined
    by ``ngram_separator``) merged into one token, longest phrases first; a token is looked up as it is,
    lowercased, then without punctuation, and stop words are dropped at each stage."""

    def __init__(
        self,
        vocab: Iterable[str] = (),
        stop_words: Iterable[str] = ENGLISH_STOP_WORDS,
        do_lower_case: bool = False,
        ngram_separator: str = "_",
        max_ngram_length: int = 5,
    ) -> None:
        if find_spec("nltk") is None:
            raise ImportError(
                f"{type(self).__name__} requires the NLTK library but it was not found in your environment. "
                "Install it with: pip install nltk"
            )
        self.stop_words = set(stop_words)
        self.do_lower_case = do_lower_case
        self.ngram_separator = ngram_separator
        self.max_ngram_length = max_ngram_length
        self.set_vocab(vocab)

    def get_vocab(self) -> Iterable[str]:  # type: ignore[override]
        return self.vocab

    def set_vocab(self, vocab: Iterable[str]) -> None:
        self.vocab = vocab
        self.word2idx = {word: idx for idx, word in enumerate(vocab)}
        self.ngram_lookup: set[str] = set()
        self.ngram_lengths: set[int] = set()
        for word in vocab:
            if self.ngram_separator is not None and self.ngram_separator in word:
                count = word.count(self.ngram_separator) + 1
                # word2vec's Google News file holds malformed phrases with doubled separators: skipped
                if self.ngram_separator * 2 not in word and count <= self.max_ngram_length:
                    self.ngram_lookup.add(word)
                    self.ngram_lengths.add(count)
        if len(vocab) > 0:
            logger.info(f"PhraseTokenizer - Phrase ngram lengths: {self.ngram_lengths}")
            logger.info(f"PhraseTokenizer - Num phrases: {len(self.ngram_lookup)}")

    def tokenize(self, text: str, **kwargs: object) -> list[int]:
        from nltk import word_tokenize

        return self.ids_of_tokens(word_tokenize(text, preserve_line=True))

    def ids_of_tokens(self, tokens: list[str]) -> list[int]:
        """The ids of word ``tokens``, phrases merged (as found, else lowercased), stop words dropped."""
        tokens = list(tokens)
        for length in sorted(self.ngram_lengths, reverse=True):
            idx = 0
            while idx <= len(tokens) - length:
                ngram = self.ngram_separator.join(tokens[idx : idx + length])
                if ngram in self.ngram_lookup:
                    tokens[idx : idx + length] = [ngram]
                elif ngram.lower() in self.ngram_lookup:
                    tokens[idx : idx + length] = [ngram.lower()]
                idx += 1
        ids = []
        for token in tokens:
            lowered = token.lower()
            stripped = lowered.strip(string.punctuation)
            for candidate, lookup in ((token, True), (lowered, True), (stripped, len(stripped) > 0)):
                if candidate in self.stop_words:
                    break
                if lookup and candidate in self.word2idx:
                    ids.append(self.word2idx[candidate])
                    break
        return ids

    def save(self, output_path: str) -> None:
        config = {
            "vocab": list(self.word2idx.keys()),
            "stop_words": list(self.stop_words),
            "do_lower_case": self.do_lower_case,
            "ngram_separator": self.ngram_separator,
            "max_ngram_length": self.max_ngram_length,
        }
        with open(os.path.join(output_path, "phrasetokenizer_config.json"), "w") as f:
            json.dump(config, f)

    @staticmethod
    def load(input_path: str) -> PhraseTokenizer:
        with open(os.path.join(input_path, "phrasetokenizer_config.json"), encoding="utf-8") as f:
            return PhraseTokenizer(**json.load(f))
