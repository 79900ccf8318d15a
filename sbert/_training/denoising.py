"""sentence-transformers' ``DenoisingAutoEncoderDataset``: the data of TSDAE (``DenoisingAutoEncoderLoss``).

Each sentence becomes ``InputExample(texts=[noisy, sentence])``: the model encodes the damaged text and the
loss's decoder rebuilds the original. The default noise deletes 60 % of the words; sentence-transformers
splits words with NLTK, here they are split on whitespace (no NLTK needed), so a sentence's damaged
versions differ between the two.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence

from .fit_inputs import InputExample


def delete_words(text: str, del_ratio: float = 0.6) -> str:
    """``text`` with each word deleted with probability ``del_ratio`` (one word kept at least)."""
    words = text.split()
    if not words:
        return text
    kept = [word for word in words if random.random() >= del_ratio]
    return " ".join(kept or [random.choice(words)])


class DenoisingAutoEncoderDataset(Sequence):
    """``(noisy sentence, sentence)`` examples of ``sentences``; ``noise_fn`` damages a text (default:
    :func:`delete_words`). The noise is drawn anew each time an example is read, as there."""

    def __init__(self, sentences: Sequence[str], noise_fn: Callable[[str], str] = delete_words) -> None:
        self.sentences, self.noise_fn = list(sentences), noise_fn

    def __getitem__(self, index: int) -> InputExample:
        sentence = self.sentences[index]
        return InputExample(texts=[self.noise_fn(sentence), sentence])

    def __len__(self) -> int:
        return len(self.sentences)

    @staticmethod
    def delete(text: str, del_ratio: float = 0.6) -> str:
        return delete_words(text, del_ratio)
