"""Word-level tokenizer of the classic word-embedding models (GloVe averages): whitespace split, stop words
dropped, ids from a vocabulary list; sentence-transformers' ``WhitespaceTokenizer``, with the ``encode`` /
``pad`` interface of :class:`sbert._tokens.tokenizer.TextTokenizer` so batching works unchanged.
"""

from __future__ import annotations

import json
import re
import string
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .._errors import InputError, ModelLoadError
from .word import WordTokenizer

CONFIG_FILE = "whitespacetokenizer_config.json"
# No limit by default: sentence-transformers' WordEmbeddings keeps this many words.
DEFAULT_MAX_LENGTH = 1_000_000

# sentence-transformers' default stop words (scikit-learn's English list and ASCII punctuation).
ENGLISH_STOP_WORDS = tuple(
    r"""
! " '' `` # $ % & ' ( ) * + , - . / : ; < = > ? @ [ \ ] ^ _ ` { | } ~ a about above across after
afterwards again against ain all almost alone along already also although always am among amongst
amoungst amount an and another any anyhow anyone anything anyway anywhere are aren around as at back
be became because become becomes becoming been before beforehand behind being below beside besides
between beyond bill both bottom but by call can cannot cant co con could couldn couldnt cry d de
describe detail did didn do does doesn doing don done down due during each eg eight either eleven
else elsewhere empty enough etc even ever every everyone everything everywhere except few fifteen
fifty fill find fire first five for former formerly forty found four from front full further get
give go had hadn has hasn hasnt have haven having he hence her here hereafter hereby herein hereupon
hers herself him himself his how however hundred i ie if in inc indeed interest into is isn it its
itself just keep last latter latterly least less ll ltd m ma made many may me meanwhile might mightn
mill mine more moreover most mostly move much must mustn my myself name namely needn neither never
nevertheless next nine no nobody none noone nor not nothing now nowhere o of off often on once one
only onto or other others otherwise our ours ourselves out over own part per perhaps please put
rather re s same see seem seemed seeming seems serious several shan she should shouldn show side
since sincere six sixty so some somehow someone something sometime sometimes somewhere still such
system t take ten than that the their theirs them themselves then thence there thereafter thereby
therefore therein thereupon these they thick thin third this those though three through throughout
thru thus to together too top toward towards twelve twenty two un under until up upon us ve very via
was wasn we well were weren what whatever when whence whenever where whereafter whereas whereby
wherein whereupon wherever whether which while whither who whoever whole whom whose why will with
within without won would wouldn y yet you your yours yourself yourselves
""".split()
)
_WORD = re.compile(r"\S+")  # the same whitespace as str.split()


@dataclass(frozen=True)
class WordEncoding:
    """One text's word ids with their character spans; ``overflowing`` holds the words cut off."""

    ids: list[int]
    offsets: list[tuple[int, int]]
    overflowing: list[int] = field(default_factory=list)

    @property
    def type_ids(self) -> list[int]:
        return [0] * len(self.ids)

    @property
    def special_tokens_mask(self) -> list[int]:
        return [0] * len(self.ids)  # no special tokens


class WhitespaceTokenizer(WordTokenizer):
    """Splits on whitespace and keeps the words found in ``vocab``: each as written, else with punctuation
    stripped, else lowercased; stop words are dropped at every stage. Padding id 0, right padding."""

    padding_side = "right"
    pad_token_id = 0
    model_max_length = None
    configured_max_length = None

    def __init__(
        self,
        vocab: Iterable[str] = (),
        stop_words: Iterable[str] = ENGLISH_STOP_WORDS,
        do_lower_case: bool = False,
        *,
        max_length: int = DEFAULT_MAX_LENGTH,
    ) -> None:
        self.stop_words = set(stop_words)
        self.do_lower_case = bool(do_lower_case)
        self.set_vocab(vocab)
        self.max_length = max_length

    def set_vocab(self, vocab: Iterable[str]) -> None:
        self.vocab = list(vocab)
        self.word2idx = {word: i for i, word in enumerate(self.vocab)}

    def get_vocab(self) -> list[str]:
        return self.vocab

    @property
    def max_length(self) -> int:
        return self._max_length

    @max_length.setter
    def max_length(self, value: int) -> None:
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise InputError(f"max_length must be a positive int, got {value!r}")
        self._max_length = value

    def _word_id(self, word: str) -> int | None:
        # Three tries, as sentence-transformers does: the word, without punctuation, lowercased.
        stripped = word.strip(string.punctuation)
        for candidate, lookup in ((word, True), (stripped, bool(stripped)), (stripped.lower(), True)):
            if candidate in self.stop_words:
                return None
            if lookup and candidate in self.word2idx:
                return self.word2idx[candidate]
        return None

    def _tokenize(self, text: str) -> WordEncoding:
        ids, offsets = [], []
        for match in _WORD.finditer(text):  # spans of the original text, even where lower() changes length
            word = match.group().lower() if self.do_lower_case else match.group()
            index = self._word_id(word)
            if index is not None:
                ids.append(index)
                offsets.append(match.span())
        return WordEncoding(ids, offsets)

    def tokenize(self, text: str, **kwargs: Any) -> list[int]:
        """The word ids of ``text`` (sentence-transformers' ``WordTokenizer.tokenize``), all of them."""
        return self._tokenize(text).ids

    def encode_untruncated(self, texts: Sequence[str]) -> list[WordEncoding]:
        return [self._tokenize(text) for text in texts]

    def encode_texts(self, texts: Sequence[str]) -> list[WordEncoding]:
        """Word ids of ``texts``, at most ``max_length`` each."""
        n = self.max_length
        return [
            WordEncoding(e.ids[:n], e.offsets[:n], e.ids[n:]) if len(e.ids) > n else e
            for e in self.encode_untruncated(texts)
        ]

    def pad_encodings(self, encodings: Sequence[Any]) -> dict[str, np.ndarray]:
        """Right-pad with id 0 into int64 arrays ``(B, T)``; ``T`` is at least 1 (sentence-transformers)."""
        width = max([1, *(len(e.ids) for e in encodings)])
        ids = np.zeros((len(encodings), width), dtype=np.int64)
        mask = np.zeros_like(ids)
        for row, encoding in enumerate(encodings):
            ids[row, : len(encoding.ids)] = encoding.ids
            mask[row, : len(encoding.ids)] = 1
        return {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}

    def encode_padded(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        return self.pad_encodings(self.encode_texts(texts))

    def get_config_dict(self) -> dict[str, Any]:
        return {
            "vocab": self.vocab,
            "stop_words": sorted(self.stop_words),
            "do_lower_case": self.do_lower_case,
        }

    def save(self, folder: str | Path) -> None:
        (Path(folder) / CONFIG_FILE).write_text(json.dumps(self.get_config_dict()), encoding="utf-8")

    @classmethod
    def load(cls, folder: str | Path) -> WhitespaceTokenizer:
        path = Path(folder) / CONFIG_FILE
        try:
            config = json.loads(path.read_text(encoding="utf-8"))
            vocab, stop_words = config["vocab"], config.get("stop_words", ENGLISH_STOP_WORDS)
            if not all(isinstance(w, str) for w in [*vocab, *stop_words]):
                raise TypeError("vocab and stop_words must be lists of strings")
            return cls(vocab, stop_words, bool(config.get("do_lower_case", False)))
        except FileNotFoundError as e:
            raise ModelLoadError(f"{path} is missing: the word tokenizer's vocabulary is stored there") from e
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise ModelLoadError(f"{path} is not a valid word tokenizer config: {e!r}") from e


class WrappedWordIds:
    """The batching face of a tokenizer wrapped for a word-embedding table (a Hugging Face tokenizer's ids, a
    ``WordTokenizer``'s word ids): :class:`WhitespaceTokenizer`'s ``encode`` / ``pad`` over the wrapped
    tokenizer's ``encode_untruncated``, right-padded with id 0, at most ``max_length`` ids per text."""

    padding_side = "right"
    pad_token_id = 0
    model_max_length = None
    configured_max_length = None
    do_lower_case = False  # the wrapped tokenizer normalizes on its own
    pad_encodings = WhitespaceTokenizer.pad_encodings
    encode_texts = WhitespaceTokenizer.encode_texts  # cut at the end, as sentence-transformers
    max_length = WhitespaceTokenizer.max_length
    encode_padded = WhitespaceTokenizer.encode_padded

    def __init__(self, tokenizer: Any, *, max_length: int = DEFAULT_MAX_LENGTH) -> None:
        self.tokenizer = tokenizer
        self.max_length = max_length
