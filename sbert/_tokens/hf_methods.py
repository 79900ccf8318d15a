"""The Hugging Face tokenizer methods that sentence-transformers' users call on ``model.tokenizer``.

sbert's tokenizer is the ``tokenizers`` library's, without transformers; these methods give what a
transformers fast tokenizer of the same folder gives for text models: calling it (``padding``, ``truncation``,
``max_length``, ``return_tensors``, ``stride`` with ``return_overflowing_tokens``), ``tokenize``, ``decode``
/ ``batch_decode``, ``convert_ids_to_tokens`` / ``convert_tokens_to_ids`` / ``convert_tokens_to_string``,
``pad`` (features a caller has, padded: :mod:`.hf_pad`), ``num_special_tokens_to_add``, ``vocab`` /
``get_vocab``, ``vocab_size`` and ``len()``, and new tokens
(``add_tokens``, ``add_special_tokens``, ``all_special_tokens``, ``save_pretrained``) that a model learns
after ``resize_token_embeddings``.
"""

from __future__ import annotations

import logging
import os
import sys
import warnings
from collections.abc import Sequence
from contextvars import ContextVar
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from .._errors import InputError, InputTypeError
from .hf_pad import MAX_LENGTH_IGNORED, as_python, check_pad_token, pad_features
from .transformers_base import count_as_transformers_batch_encoding

# Tokenizer classes whose models take token_type_ids (transformers 5's model_input_names; a "Fast" name is
# its class too); others return ids and the attention mask only.
_TOKEN_TYPE_CLASSES = frozenset(
    (
        "BertTokenizer",
        "ElectraTokenizer",
        "CanineTokenizer",
        "DPRQuestionEncoderTokenizer",
        "DebertaTokenizer",
        "DebertaV2Tokenizer",
        "FNetTokenizer",
        "LayoutLMv2Tokenizer",
        "LxmertTokenizer",
        "MarkupLMTokenizer",
        "MobileBertTokenizer",
        "TapasTokenizer",
    )
)
_PADDING = (False, True, "longest", "max_length", "do_not_pad")
_TRUNCATION = (False, True, "longest_first", "only_first", "only_second", "do_not_truncate")
# transformers' named special tokens, in the order its all_special_tokens lists them.
NAMED_SPECIAL_TOKENS = (
    "bos_token",
    "eos_token",
    "unk_token",
    "sep_token",
    "pad_token",
    "cls_token",
    "mask_token",
)
# add_special_tokens' key for the unnamed ones (transformers 5), and its older name.
EXTRA_SPECIAL_KEYS = ("extra_special_tokens", "additional_special_tokens")
# transformers' refusal of a text that is neither a string nor a list of them, word for word.
TEXT_INPUT_TYPES = (
    "text input must be of type `str` (single example), `list[str]` (batch or single pretokenized example) "
    "or `list[list[str]]` (batch of pretokenized examples) or `list[tuple[list[str], list[str]]]` (batch of "
    "pretokenized sequence pairs)."
)
_NO_TEXT = (
    "You need to specify either `text` or `text_target`. Pass the text to tokenize (a string, or a list of "
    "strings for a batch) as the first argument."
)
# The logger transformers' long-sequence warning goes out on, and the key of its once-per-tokenizer record.
_LONG_LOGGER = "transformers.tokenization_utils_base"
_LONG_WARNED = "sequence-length-is-longer-than-the-specified-maximum"
# True inside own_call: sbert's own batches, which the call's user-facing checks leave alone.
_OWN_CALL: ContextVar[bool] = ContextVar("sbert_own_tokenizer_call", default=False)


def own_call(tokenizer: Any, *args: Any, **options: Any) -> Any:
    """``tokenizer(*args, **options)`` for sbert's own batches (``model.tokenize`` / ``preprocess``, the
    collators, a word-embedding model's ids), which pad and read texts as ``model.encode`` does: sbert's
    tokenizer pads with id 0 where it has no pad token, logs no long-sequence warning and reads its inputs as
    before, where a call by the user raises and warns as transformers' (a transformers tokenizer is called
    as it is)."""
    token = _OWN_CALL.set(True)
    try:
        return tokenizer(*args, **options)
    finally:
        _OWN_CALL.reset(token)


class CharSpan(NamedTuple):
    """transformers' span of characters in the text: ``start`` included, ``end`` not."""

    start: int
    end: int


class TokenSpan(NamedTuple):
    """transformers' span of tokens in the encoding: ``start`` included, ``end`` not."""

    start: int
    end: int


class BatchEncoding(dict):
    """What calling the tokenizer returns: a dict whose keys also read as attributes (``.input_ids``), with
    a fast tokenizer's per-token maps (``tokens()``, ``word_ids()``, ``char_to_token()``, ...) read off the
    ``tokenizers`` encodings, padded as the batch is (padded positions map to no word and no text). It counts
    as transformers' ``BatchEncoding`` (a ``UserDict``) in ``isinstance`` once transformers' tokenizer module
    is imported (:mod:`.transformers_base`), and :attr:`data` is its dict, as there."""

    is_fast = True

    def __init__(
        self, data: dict[str, Any] | None = None, *, encodings: Any = None, padding: Any = None
    ) -> None:
        """``encodings``: the call's ``tokenizers`` encodings; ``padding``: ``(width, side, pad id, pad
        token)`` where the batch was padded (the encodings are padded so on first use)."""
        count_as_transformers_batch_encoding(BatchEncoding)
        super().__init__(data or {})
        self._rust = None if encodings is None else (encodings, padding)

    @property
    def data(self) -> BatchEncoding:
        """transformers' ``BatchEncoding.data`` (the ``UserDict``'s dict of features): this dict itself, so
        what is read or written through it is the batch's (``batch.data["labels"] = ...``)."""
        return self

    @data.setter
    def data(self, features: dict[str, Any]) -> None:
        features = dict(features)  # a copy first: ``batch.data = batch.data`` keeps the features
        self.clear()
        self.update(features)

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    @property
    def encodings(self) -> list[Any] | None:
        """The ``tokenizers.Encoding`` of each text (padded as the batch)."""
        if self._rust is None:
            return None
        encodings, padding = self._rust
        if padding is not None:  # padded once, in place: the encodings are this call's own
            width, side, pad_id, pad_token = padding
            for encoding in encodings:
                encoding.pad(width, direction=side, pad_id=pad_id, pad_type_id=0, pad_token=pad_token)
            self._rust = (encodings, None)
        return encodings

    def _encoding(self, batch_index: int) -> Any:
        encodings = self.encodings
        if encodings is None:
            raise ValueError("This BatchEncoding has no tokenizers encodings to read token maps from.")
        return encodings[batch_index]

    def tokens(self, batch_index: int = 0) -> list[str]:
        return self._encoding(batch_index).tokens

    def word_ids(self, batch_index: int = 0) -> list[int | None]:
        return self._encoding(batch_index).word_ids

    def words(self, batch_index: int = 0) -> list[int | None]:
        """:meth:`word_ids`' older name."""
        return self.word_ids(batch_index)

    def sequence_ids(self, batch_index: int = 0) -> list[int | None]:
        return self._encoding(batch_index).sequence_ids

    @property
    def n_sequences(self) -> int | None:
        return self._encoding(0).n_sequences if self.encodings else None

    def token_to_word(self, batch_or_token_index: int, token_index: int | None = None) -> int | None:
        batch, token = _indices(batch_or_token_index, token_index)
        return self._encoding(batch).token_to_word(token)

    def token_to_sequence(self, batch_or_token_index: int, token_index: int | None = None) -> int | None:
        batch, token = _indices(batch_or_token_index, token_index)
        return self._encoding(batch).token_to_sequence(token)

    def token_to_chars(self, batch_or_token_index: int, token_index: int | None = None) -> CharSpan | None:
        batch, token = _indices(batch_or_token_index, token_index)
        span = self._encoding(batch).token_to_chars(token)
        return CharSpan(*span) if span is not None else None

    def char_to_token(
        self, batch_or_char_index: int, char_index: int | None = None, sequence_index: int = 0
    ) -> int | None:
        batch, char = _indices(batch_or_char_index, char_index)
        return self._encoding(batch).char_to_token(char, sequence_index)

    def char_to_word(
        self, batch_or_char_index: int, char_index: int | None = None, sequence_index: int = 0
    ) -> int | None:
        batch, char = _indices(batch_or_char_index, char_index)
        return self._encoding(batch).char_to_word(char, sequence_index)

    def word_to_tokens(
        self, batch_or_word_index: int, word_index: int | None = None, sequence_index: int = 0
    ) -> TokenSpan | None:
        batch, word = _indices(batch_or_word_index, word_index)
        span = self._encoding(batch).word_to_tokens(word, sequence_index)
        return TokenSpan(*span) if span is not None else None

    def word_to_chars(
        self, batch_or_word_index: int, word_index: int | None = None, sequence_index: int = 0
    ) -> CharSpan | None:
        batch, word = _indices(batch_or_word_index, word_index)
        span = self._encoding(batch).word_to_chars(word, sequence_index)
        return CharSpan(*span) if span is not None else None

    def to(self, device: Any, *, non_blocking: bool = False) -> BatchEncoding:
        """transformers' ``BatchEncoding.to``: its tensors moved to ``device`` in place, the batch returned
        (``model.tokenizer(texts, return_tensors="pt").to(model.device)``, then ``model(features)``)."""
        if isinstance(device, (str, int)) or type(device).__name__ == "device":  # a torch.device
            for name, value in self.items():
                if callable(getattr(value, "to", None)):
                    self[name] = value.to(device=device, non_blocking=non_blocking)
        else:  # a dtype, as transformers refuses it (the token ids stay integers)
            logging.getLogger(__name__).warning(
                f"Attempting to cast a BatchEncoding to type {device}. This is not supported."
            )
        return self


def _special_id_property(name: str) -> property:
    """``<name>_id``, read off the named token (a token outside the vocabulary: the unknown token's id);
    setting it names the token of that id (``None`` unsets it), as in transformers."""

    def get(self: Any) -> int | None:
        token = getattr(self, name, None)
        if token is None:
            return None
        found = self.backend.token_to_id(token)  # outside the vocabulary: the unknown token's, as there
        return self.unk_token_id if found is None and name != "unk_token" else found

    def set(self: Any, token_id: int | None) -> None:
        setattr(self, name, None if token_id is None else self.backend.id_to_token(int(token_id)))

    return property(get, set)


class HuggingFaceTokenizerMethods:
    """Mixed into :class:`~sbert._tokens.tokenizer.TextTokenizer` (``backend``, ``pad_encodings``,
    ``max_length``)."""

    backend: Any
    untruncated_backend: Any  # the method of TextTokenizer
    padding_side: str
    max_length: int
    tokenizer_class: str | None
    loaded_class: str | None  # the class AutoTokenizer loads (see TextTokenizer)
    extra_special_tokens: list[str]
    _vocabulary_changed: Any  # the method of TextTokenizer: its files follow the Rust tokenizer
    _truncating: dict[tuple[Any, ...], Any]  # TextTokenizer's copies for other settings (``_encoder``)
    saved_files: Any  # the method of TextTokenizer: the files its save writes

    def __call__(
        self,
        text: Any = None,
        text_pair: Any = None,
        text_target: Any = None,
        text_pair_target: Any = None,
        *,
        padding: bool | str = False,
        truncation: bool | str | None = None,
        max_length: int | None = None,
        return_tensors: str | None = None,
        add_special_tokens: bool = True,
        return_token_type_ids: bool | None = None,
        return_attention_mask: bool = True,
        return_offsets_mapping: bool = False,
        verbose: bool = True,
        padding_side: str | None = None,
        pad_to_multiple_of: int | None = None,
        stride: int = 0,
        return_overflowing_tokens: bool = False,
        split_special_tokens: bool | None = None,
        is_split_into_words: bool = False,
        return_special_tokens_mask: bool = False,
        return_length: bool = False,
        max_target_length: int | None = None,
    ) -> dict[str, Any]:
        """``verbose``: transformers' switch for its warnings (sbert gives the one of ``padding=True`` with a
        ``max_length`` nothing truncates to, not those of long texts);
        ``padding_side`` (this call's, else the tokenizer's) and ``pad_to_multiple_of`` as in transformers;
        ``return_overflowing_tokens``: the tokens truncation cut off come back as more rows, windows of
        ``max_length`` that repeat the ``stride`` tokens before them, with ``overflow_to_sample_mapping``
        (each row's text), as a transformers fast tokenizer gives them (a batch even for one text);
        ``split_special_tokens``: a special token's text in the input (``"[SEP]"``) is tokenized as text, as
        in transformers (None: the tokenizer's ``split_special_tokens``); ``is_split_into_words``: the input
        is words (a list of words per text);
        ``return_special_tokens_mask`` (1 for a special or padded token) and ``return_length`` (each row's
        length, padding counted) as there; ``text_target`` (and ``text_pair_target``): texts encoded the
        same way, alone or as ``labels`` next to ``text``'s features (``max_target_length``: their limit)."""
        if text is None and text_target is None:
            raise InputTypeError(_NO_TEXT)
        options = {"padding": padding, "truncation": truncation, "return_tensors": return_tensors}
        options |= {"add_special_tokens": add_special_tokens, "return_token_type_ids": return_token_type_ids}
        options |= {"return_attention_mask": return_attention_mask, "verbose": verbose, "stride": stride}
        options |= {"return_offsets_mapping": return_offsets_mapping, "padding_side": padding_side}
        options |= {"pad_to_multiple_of": pad_to_multiple_of, "split_special_tokens": split_special_tokens}
        options |= {"return_overflowing_tokens": return_overflowing_tokens, "return_length": return_length}
        options |= {"is_split_into_words": is_split_into_words}
        options |= {"return_special_tokens_mask": return_special_tokens_mask}
        encodings = (
            None if text is None else self._call_one(text, text_pair, max_length=max_length, **options)
        )
        if text_target is None:
            return encodings
        target_limit = max_length if max_target_length is None else max_target_length
        targets = self._call_one(text_target, text_pair_target, max_length=target_limit, **options)
        if encodings is None:
            return targets
        encodings["labels"] = targets["input_ids"]
        return encodings

    def _call_one(
        self,
        text: Any,
        text_pair: Any,
        *,
        padding: bool | str,
        truncation: bool | str | None,
        max_length: int | None,
        return_tensors: str | None,
        add_special_tokens: bool,
        return_token_type_ids: bool | None,
        return_attention_mask: bool,
        return_offsets_mapping: bool,
        verbose: bool,
        padding_side: str | None,
        pad_to_multiple_of: int | None,
        stride: int,
        return_overflowing_tokens: bool,
        split_special_tokens: bool | None,
        is_split_into_words: bool,
        return_special_tokens_mask: bool,
        return_length: bool,
    ) -> BatchEncoding:
        """One text (or batch) of :meth:`__call__` encoded, as transformers' ``_encode_plus``."""
        if padding not in _PADDING:
            raise InputError(f"padding must be one of {_PADDING}, got {padding!r}")
        if not _OWN_CALL.get():  # a user's call (sbert's own batches pad with id 0 without a pad token)
            self._check_user_call(text, text_pair, padding)
        side = self.padding_side if padding_side is None else padding_side
        if side not in ("left", "right"):
            raise InputError(f"padding_side must be 'left' or 'right', got {padding_side!r}")
        if is_split_into_words:  # words: a batch is a list of word lists
            single = not (isinstance(text, (list, tuple)) and text and isinstance(text[0], (list, tuple)))
        else:
            single = isinstance(text, str)
        texts = [text] if single else list(text)
        inputs: list[Any] = texts
        if text_pair is not None:
            pairs = [text_pair] if single else list(text_pair)
            if len(pairs) != len(texts):
                raise InputError(f"text_pair has {len(pairs)} texts for {len(texts)} texts")
            inputs = list(zip(texts, pairs))
        if truncation is None:  # transformers truncates when given max_length alone (and padding=False)
            truncation = max_length is not None and padding is False
        if padding is True and max_length is not None and truncation in (False, "do_not_truncate"):
            if verbose:  # padding to the longest text, truncating nothing
                warnings.warn(MAX_LENGTH_IGNORED, stacklevel=3)
        if truncation not in _TRUNCATION:
            raise InputError(f"truncation must be one of {_TRUNCATION}, got {truncation!r}")
        limit = (max_length or self.max_length) if truncation not in (False, "do_not_truncate") else None
        strategy = truncation if truncation in ("only_first", "only_second") else "longest_first"
        encoder = self._encoder(limit, strategy, split_special_tokens=split_special_tokens, stride=stride)
        encodings = encoder.encode_batch(
            inputs, add_special_tokens=add_special_tokens, is_pretokenized=is_split_into_words
        )
        if return_overflowing_tokens:  # each text's cut-off windows as rows after it
            sources = [index for index, e in enumerate(encodings) for _ in range(1 + len(e.overflowing))]
            encodings = [row for e in encodings for row in (e, *e.overflowing)]
            single = False
        fixed = max_length or self.max_length  # the width of "max_length" padding
        batch, width = self._padded(encodings, padding, fixed, pad_to_multiple_of, side)
        keep_types = return_token_type_ids if return_token_type_ids is not None else self._takes_token_types()
        names = ["input_ids"] + (["token_type_ids"] if keep_types else [])
        names += ["attention_mask"] if return_attention_mask else []
        padded = None if width is None else (width, side, self.padding_id, self.pad_token or "")
        values = {name: _as(batch[name], return_tensors, single) for name in names}
        out = BatchEncoding(values, encodings=encodings, padding=padded)
        widths = [len(row) for row in batch["input_ids"]]  # the padded width, or each text's own
        if max_length is None and limit is None and padding != "max_length":  # no limit asked for
            self._warn_if_too_long(widths, verbose)
        if return_special_tokens_mask:  # 1 for special tokens and padding, as the Rust padding marks it
            marks = [_padded_row(e.special_tokens_mask, w, 1, side) for e, w in zip(encodings, widths)]
            out["special_tokens_mask"] = _as(marks, return_tensors, single)
        if return_offsets_mapping:  # each token's (start, end) characters; (0, 0) where padded
            offsets = [_padded_row(e.offsets, w, (0, 0), side) for e, w in zip(encodings, widths)]
            out["offset_mapping"] = _as(offsets, return_tensors, single)
        if return_length:  # a list even for one text, as transformers keeps it
            out["length"] = _as(widths, return_tensors, False)
        if return_overflowing_tokens:
            out["overflow_to_sample_mapping"] = _as(sources, return_tensors, False)
        return out

    def _check_user_call(self, text: Any, text_pair: Any, padding: bool | str) -> None:
        """transformers' checks of a call's inputs: texts of types it reads, a pad token to pad with."""
        if padding not in (False, "do_not_pad"):
            check_pad_token(self)
        check_text_input(text)
        if text_pair is not None:
            check_text_input(text_pair)

    def _warn_if_too_long(self, lengths: Sequence[int], verbose: bool) -> None:
        """transformers' warning of a row longer than ``model_max_length`` from a call without a limit, once
        per tokenizer (its ``deprecation_warnings`` record), on transformers' logger: never for sbert's own
        batches (:func:`own_call`), which ``model.encode`` truncates."""
        limit = self.model_max_length
        if not verbose or limit == 0 or _OWN_CALL.get():
            return
        longer = next((length for length in lengths if length > limit), None)
        if longer is None:
            return
        if not self.deprecation_warnings.get(_LONG_WARNED, False):
            logging.getLogger(_LONG_LOGGER).warning(
                "Token indices sequence length is longer than the specified maximum sequence length for "
                f"this model ({longer} > {limit}). Running this sequence through the model will result in "
                "indexing errors"
            )
        self.deprecation_warnings[_LONG_WARNED] = True

    def _padded(
        self, encodings: list[Any], padding: bool | str, limit: int, multiple: int | None, side: str
    ) -> tuple[dict[str, Any], int | None]:
        """A call's rows and the width padding gave them (None: not padded): arrays, or lists where rows
        stay as long as they are (no padding; or ``"max_length"`` padding to ``limit`` without truncation,
        which leaves longer rows as the Rust padding does)."""
        if padding not in (True, "longest", "max_length"):
            return _row_lists(encodings, 0, self.padding_id, side), None
        batch = self.pad_encodings(encodings, side)
        longest = batch["input_ids"].shape[1]
        width = limit if padding == "max_length" else longest  # limit: max_length, else the model's
        if multiple:
            width = -(-width // multiple) * multiple
        if longest > width:
            return _row_lists(encodings, width, self.padding_id, side), width
        return _pad_to(batch, width, self.padding_id, side), width

    def pad(
        self,
        encoded_inputs: Any,
        padding: bool | str = True,
        max_length: int | None = None,
        pad_to_multiple_of: int | None = None,
        padding_side: str | None = None,
        return_attention_mask: bool | None = None,
        return_tensors: str | None = None,
        verbose: bool = True,
    ) -> BatchEncoding:
        """transformers' ``pad``: token features a caller already has (one example, a dict of lists, a list of
        dicts, a ``BatchEncoding``; lists, numpy arrays or torch tensors) padded as a transformers tokenizer
        pads them (:mod:`.hf_pad`), as ``transformers.DataCollatorWithPadding`` calls it. sbert's own batches
        come from :meth:`pad_encodings`."""
        options = {"padding": padding, "max_length": max_length, "pad_to_multiple_of": pad_to_multiple_of}
        options |= {"padding_side": padding_side, "return_attention_mask": return_attention_mask}
        options |= {"return_tensors": return_tensors, "verbose": verbose}
        return BatchEncoding(pad_features(self, encoded_inputs, options))

    pad_token_type_id = 0  # the token type padding writes, as transformers' tokenizers

    def num_special_tokens_to_add(self, pair: bool = False) -> int:
        """How many special tokens the tokenizer adds to one text (``pair=True``: to a text pair)."""
        return int(self.backend.num_special_tokens_to_add(pair))

    def convert_tokens_to_string(self, tokens: Sequence[str]) -> str:
        """Tokens joined into text by the tokenizer's decoder (``##`` pieces joined, ...), else by spaces."""
        decoder = self.backend.decoder
        return decoder.decode(list(tokens)) if decoder is not None else " ".join(tokens)

    def tokenize(
        self, text: Any, pair: Any = None, add_special_tokens: bool = False, **kwargs: Any
    ) -> list[str]:
        """The tokens of ``text`` (and ``pair``), without truncation; special tokens only with
        ``add_special_tokens``; ``split_special_tokens`` and ``is_split_into_words`` as in :meth:`__call__`
        (transformers ignores its other options here)."""
        split = kwargs.get("split_special_tokens")
        words = bool(kwargs.get("is_split_into_words", False))
        if not _OWN_CALL.get():
            check_text_input(text)
        encoder = self._encoder(None, split_special_tokens=split)
        if words and text and isinstance(text[0], (list, tuple)):  # a batch of word lists: the first
            text, pair = text[0], None if pair is None else pair[0]
        elif not words and not isinstance(text, str):  # a batch of texts: the first, as transformers
            text, pair = text[0], None if pair is None else pair[0]
        pair = pair or None  # an empty pair counts as none there
        encoded = encoder.encode(text, pair, is_pretokenized=words, add_special_tokens=add_special_tokens)
        if kwargs.get("max_length") is None:  # as transformers' tokenize warns of a text over the limit
            self._warn_if_too_long([len(encoded.tokens)], kwargs.get("verbose", True))
        return encoded.tokens

    def decode(self, token_ids: Any, skip_special_tokens: bool = False, **kwargs: Any) -> str | list[str]:
        """Text of token ids; a batch (rows of ids: a 2-D array or tensor, a list of lists) gives a list of
        texts. ``clean_up_tokenization_spaces`` (default: the tokenizer's attribute) removes the spaces the
        decoder leaves before punctuation and in contractions, as transformers does (not for a BPE model,
        unless ``clean_up_tokenization_spaces_for_bpe_even_though_it_will_corrupt_output``)."""
        token_ids = as_python(token_ids)
        clean_up = kwargs.pop("clean_up_tokenization_spaces", None)
        if isinstance(token_ids, (list, tuple)) and token_ids and isinstance(token_ids[0], (list, tuple)):
            return [self._decode(row, skip_special_tokens, clean_up) for row in token_ids]
        return self._decode(token_ids, skip_special_tokens, clean_up)

    def batch_decode(
        self,
        sequences: Any,
        skip_special_tokens: bool = False,
        clean_up_tokenization_spaces: bool | None = None,
        **kwargs: Any,
    ) -> list[str]:
        """Texts of rows of token ids (:meth:`decode`'s); one row of ids gives a list of its one text (with
        transformers' warning)."""
        sequences = as_python(sequences)
        if len(sequences) == 0:
            return []
        texts = self.decode(
            sequences, skip_special_tokens, clean_up_tokenization_spaces=clean_up_tokenization_spaces
        )
        if isinstance(texts, str):
            _warn_once(
                "Passing a single sequence to `batch_decode` is deprecated and will be removed in a future "
                "version, use `decode` instead."
            )
            return [texts]
        return texts

    def _decode(self, token_ids: Any, skip_special_tokens: bool, clean_up: bool | None) -> str:
        if isinstance(token_ids, int):
            token_ids = [token_ids]
        if isinstance(token_ids, dict):
            token_ids = token_ids["input_ids"]
        text = self.backend.decode(_id_list(token_ids), skip_special_tokens=skip_special_tokens)
        return cleaned_up(self, text, clean_up)

    def clean_up_tokenization(self, text: str) -> str:
        """transformers' clean-up of the spaces a decoder leaves before punctuation and in English
        contractions (``"it ' s"`` -> ``"it's"``)."""
        return _clean_up_text(text)

    def _class_name(self) -> str:
        return str(self.loaded_class or type(self).__name__)

    def convert_ids_to_tokens(self, ids: Any, skip_special_tokens: bool = False) -> str | list[str]:
        """The token of an id, or the tokens of ids (the special ones left out with
        ``skip_special_tokens``)."""
        if isinstance(ids, (int, np.integer)):
            return self.backend.id_to_token(int(ids))
        skip = set(self.all_special_ids) if skip_special_tokens else set()
        return [self.backend.id_to_token(i) for i in _id_list(ids) if i not in skip]

    def convert_tokens_to_ids(self, tokens: str | Sequence[str]) -> int | list[int]:
        """Token ids; a token outside the vocabulary is the unknown token's id (None where the tokenizer
        has none), as in transformers, whatever the model type."""

        def one(token: str) -> Any:
            found = self.backend.token_to_id(token)
            return found if found is not None else self.unk_token_id

        return one(tokens) if isinstance(tokens, str) else [one(t) for t in tokens]

    def get_special_tokens_mask(
        self, token_ids_0: Any, token_ids_1: Any = None, already_has_special_tokens: bool = False
    ) -> list[int]:
        """1 for each special token of ids that already hold them, 0 for the others (data collators, as
        ``DataCollatorForLanguageModeling``, call it so); transformers' fast tokenizers compute no mask for
        ids without special tokens either."""
        if not already_has_special_tokens:
            raise NotImplementedError(
                f"{self._class_name()} does not implement get_special_tokens_mask for non-formatted sequences"
            )
        if token_ids_1 is not None:
            raise ValueError(
                "You should not supply a second sequence if the provided sequence of ids is already "
                "formatted with special tokens for the model."
            )
        special = set(self.all_special_ids)
        return [1 if int(token) in special else 0 for token in token_ids_0]

    @property
    def added_tokens_decoder(self) -> dict[int, Any]:
        """The added tokens by id, as ``tokenizers.AddedToken`` (special tokens included)."""
        return self.backend.get_added_tokens_decoder()

    @property
    def added_tokens_encoder(self) -> dict[str, int]:
        """The added tokens' ids by content, in id order."""
        return {token.content: index for index, token in sorted(self.added_tokens_decoder.items())}

    def get_added_vocab(self) -> dict[str, int]:
        """The added tokens' ids by content, in id order (special tokens included, as in transformers 5)."""
        return self.added_tokens_encoder

    @property
    def decoder(self) -> Any:
        """The Rust tokenizer's decoder."""
        return self.backend.decoder

    @property
    def max_len_single_sentence(self) -> int:
        """The most tokens one text may have with the model's special tokens added."""
        return self.model_max_length - self.num_special_tokens_to_add(pair=False)

    @max_len_single_sentence.setter
    def max_len_single_sentence(self, value: int) -> None:
        _check_derived_length("max_len_single_sentence", value, self.max_len_single_sentence, self.verbose)

    @property
    def max_len_sentences_pair(self) -> int:
        """The most tokens a text pair may have together with the model's special tokens added."""
        return self.model_max_length - self.num_special_tokens_to_add(pair=True)

    @max_len_sentences_pair.setter
    def max_len_sentences_pair(self, value: int) -> None:
        _check_derived_length("max_len_sentences_pair", value, self.max_len_sentences_pair, self.verbose)

    SPECIAL_TOKENS_ATTRIBUTES = list(NAMED_SPECIAL_TOKENS)  # transformers' class attribute

    def get_vocab(self) -> dict[str, int]:
        return self.backend.get_vocab(with_added_tokens=True)

    @property
    def vocab(self) -> dict[str, int]:
        return self.get_vocab()

    is_fast = True  # the Rust tokenizer, as transformers' fast tokenizers
    bos_token_id = _special_id_property("bos_token")
    eos_token_id = _special_id_property("eos_token")
    cls_token_id = _special_id_property("cls_token")
    sep_token_id = _special_id_property("sep_token")
    unk_token_id = _special_id_property("unk_token")
    mask_token_id = _special_id_property("mask_token")
    pad_token_id = _special_id_property("pad_token")

    @property
    def padding_id(self) -> int:
        """The id padding writes: the pad token's, 0 where the tokenizer has none."""
        pad = self.pad_token_id
        return 0 if pad is None else int(pad)

    def add_tokens(self, new_tokens: Any, special_tokens: bool = False) -> int:
        """Add words (strings or ``tokenizers.AddedToken``) to the vocabulary, as transformers does: each new
        one gets the next id (then ``model[0].model.resize_token_embeddings(len(model.tokenizer))``);
        a plain word is matched after the model's normalization (lowercasing), a special one as written.
        Returns how many the tokenizer added, as transformers' fast tokenizers count them."""
        tokens = (
            [new_tokens] if isinstance(new_tokens, str) or _is_added_token(new_tokens) else list(new_tokens)
        )
        added = [_added_token(token, special_tokens) for token in tokens]
        count = (self.backend.add_special_tokens if special_tokens else self.backend.add_tokens)(added)
        self._vocabulary_changed()
        return int(count)

    def add_special_tokens(
        self, special_tokens_dict: dict[str, Any], replace_extra_special_tokens: bool = True, **legacy: Any
    ) -> int:
        """Add or set special tokens: a named one (``{"pad_token": "[PAD]"}``) or unnamed ones
        (``{"extra_special_tokens": [...]}``, or its older name ``additional_special_tokens``), which replace
        the current unnamed ones unless ``replace_extra_special_tokens=False``. Returns how many were
        added."""
        replace = legacy.pop("replace_additional_special_tokens", replace_extra_special_tokens)
        if legacy:
            raise TypeError(f"add_special_tokens() got unexpected keyword arguments {sorted(legacy)}")
        if not isinstance(special_tokens_dict, dict):
            raise InputError(f"add_special_tokens takes a dict, got {type(special_tokens_dict).__name__}")
        unknown = sorted(set(special_tokens_dict) - {*NAMED_SPECIAL_TOKENS, *EXTRA_SPECIAL_KEYS})
        if unknown:
            raise InputError(
                f"add_special_tokens: {unknown} are not special-token keys; "
                f"use {list(NAMED_SPECIAL_TOKENS)} or 'extra_special_tokens' (a list)"
            )
        given = dict(special_tokens_dict)
        if "additional_special_tokens" in given and not given.get("extra_special_tokens"):
            given["extra_special_tokens"] = given.pop("additional_special_tokens")  # last, as transformers
        given.pop("additional_special_tokens", None)
        to_add = []
        for key, value in given.items():
            if key in NAMED_SPECIAL_TOKENS:
                token = _added_token(value, True)
                setattr(self, key, token.content)
                to_add.append(token)
                continue
            tokens = [_added_token(token, True) for token in value]
            if not replace:
                tokens = [token for token in tokens if token.content not in self.extra_special_tokens]
            contents = [token.content for token in tokens]
            self.extra_special_tokens = (
                contents if replace and tokens else [*self.extra_special_tokens, *contents]
            )
            to_add += tokens
        # in one call, in this order, as transformers adds them
        count = self.backend.add_special_tokens(to_add)
        self._vocabulary_changed()
        return int(count)

    @property
    def additional_special_tokens(self) -> list[str]:
        """transformers 4's name for :attr:`extra_special_tokens`."""
        return self.extra_special_tokens

    @property
    def special_tokens_map(self) -> dict[str, str]:
        """The named special tokens that are set (``{"cls_token": "[CLS]", ...}``), as transformers 5 gives
        them (the unnamed ones are :attr:`extra_special_tokens`)."""
        named = {name: getattr(self, name, None) for name in NAMED_SPECIAL_TOKENS}
        return {name: str(token) for name, token in named.items() if token is not None}

    @property
    def all_special_tokens(self) -> list[str]:
        named = [getattr(self, name, None) for name in NAMED_SPECIAL_TOKENS]
        return list(
            dict.fromkeys([token for token in named if token is not None] + self.extra_special_tokens)
        )

    @property
    def all_special_ids(self) -> list[int]:
        return [self.backend.token_to_id(token) for token in self.all_special_tokens]

    def save_pretrained(self, save_directory: str | os.PathLike, **options: Any) -> tuple[str, ...]:
        """Write the tokenizer's files (with any added tokens) into ``save_directory``, which transformers'
        ``AutoTokenizer`` loads; returns their paths, as transformers does."""
        folder = Path(save_directory)
        if folder.is_file():
            raise InputError(f"save_pretrained: {folder} is a file; give a directory")
        folder.mkdir(parents=True, exist_ok=True)
        self.save(folder)
        return tuple(str(folder / name) for name in self.saved_files())

    @property
    def vocab_size(self) -> int:
        return self.backend.get_vocab_size(with_added_tokens=False)

    def __len__(self) -> int:
        return self.backend.get_vocab_size(with_added_tokens=True)

    def _encoder(
        self,
        limit: int | None,
        strategy: str = "longest_first",
        *,
        split_special_tokens: bool | None = None,
        stride: int = 0,
    ) -> Any:
        """The Rust tokenizer truncating at ``limit`` (None: not at all) with ``strategy`` and ``stride`` (the
        tokens each overflowing window repeats) (and, with ``split_special_tokens``, tokenizing special
        tokens' text as text): the model's own or its cached
        untruncated copy for those, a copy kept per setting for others (the shared one never changes; the
        copies are dropped when it does, ``_forget_copies``). ``split_special_tokens`` None: the tokenizer's
        setting, which its own Rust tokenizer and copies have."""
        own_split = self.backend.encode_special_tokens
        split_special_tokens = own_split if split_special_tokens is None else bool(split_special_tokens)
        if split_special_tokens == own_split and limit is None:
            return self.untruncated_backend()
        if (
            split_special_tokens == own_split
            and limit == self.max_length
            and (strategy, stride) == ("longest_first", 0)
        ):
            return self.backend
        limit = None if limit is None else int(limit)
        key = (limit, strategy, self.truncation_side, split_special_tokens, stride)
        encoder = self._truncating.get(key)
        if encoder is None:  # a copy costs tens of milliseconds: once per setting, not per batch
            from tokenizers import Tokenizer

            encoder = Tokenizer.from_str(self.backend.to_str())
            if limit is None or limit > sys.maxsize:  # transformers' "no limit", int(1e30), too
                encoder.no_truncation()
            else:
                encoder.enable_truncation(
                    limit, stride=stride, strategy=strategy, direction=self.truncation_side
                )
            encoder.encode_special_tokens = split_special_tokens
            self._truncating = {**dict(list(self._truncating.items())[-7:]), key: encoder}  # the last 8
        return encoder

    @property
    def model_input_names(self) -> list[str]:
        """The model inputs its features hold, in transformers' order (setfit builds its batches by them)."""
        types = ["token_type_ids"] if self._takes_token_types() else []
        return ["input_ids", *types, "attention_mask"]

    def _takes_token_types(self) -> bool:
        return str(self.loaded_class).removesuffix("Fast") in _TOKEN_TYPE_CLASSES


# transformers' clean_up_tokenization, in its order.
_CLEAN_UP = (
    (" .", "."),
    (" ?", "?"),
    (" !", "!"),
    (" ,", ","),
    (" ' ", "'"),
    (" n't", "n't"),
    (" 'm", "'m"),
    (" 's", "'s"),
    (" 've", "'ve"),
    (" 're", "'re"),
)
# A text batch's token features, in the order transformers' tokenizers give them.
TOKEN_FEATURES = ("input_ids", "token_type_ids", "attention_mask")


def feature_names(token_types: bool) -> tuple[str, ...]:
    """The token features a batch holds: :data:`TOKEN_FEATURES`, ``token_type_ids`` only with
    ``token_types``."""
    return TOKEN_FEATURES if token_types else ("input_ids", "attention_mask")


class TokenTypes(NamedTuple):
    """Where ``token_type_ids`` go for one tokenizer and encoder (:func:`token_types`)."""

    in_features: bool  # preprocess / tokenize and what a user's forward or hooks see hold them
    to_encoder: bool  # sbert's own batches hand them to the encoder


def token_types(tokenizer: Any, encoder_reads: bool) -> TokenTypes:
    """The one decision on ``token_type_ids`` for ``tokenizer`` and an encoder whose forward reads them or
    not (``encoder_reads``). The features hold them where transformers' tokenizer class makes them, read or
    not, as sentence-transformers 6.3's: a DistilBERT or MPNet folder saved with a BertTokenizer has them,
    unread; where no class is known, as the encoder reads them. The encoder gets them only where it reads
    them and the tokenizer makes them (GPT-2's forward takes them, its tokenizer gives none)."""
    name = getattr(tokenizer, "loaded_class", getattr(tokenizer, "tokenizer_class", None))
    in_features = name.removesuffix("Fast") in _TOKEN_TYPE_CLASSES if isinstance(name, str) else encoder_reads
    return TokenTypes(in_features, encoder_reads and makes_token_types(tokenizer))


def makes_token_types(tokenizer: Any) -> bool:
    """Whether transformers' tokenizer of the class ``AutoTokenizer`` loads for ``tokenizer``'s folder gives
    ``token_type_ids``; where nothing names a class (no tokenizer_class, an unknown model type, or a
    tokenizer a script made) it is left to the model's ``forward``."""
    name = getattr(tokenizer, "loaded_class", getattr(tokenizer, "tokenizer_class", None))
    return not isinstance(name, str) or name.removesuffix("Fast") in _TOKEN_TYPE_CLASSES


def _is_added_token(token: Any) -> bool:
    return type(token).__name__ == "AddedToken"  # tokenizers' (transformers re-exports the same class)


def _added_token(token: Any, special: bool) -> Any:
    """``token`` as a ``tokenizers.AddedToken``: a plain word is normalized like the text around it (so a
    lowercasing model matches it in any case), a special token is matched as written, as transformers adds
    them."""
    from tokenizers import AddedToken

    if _is_added_token(token):
        if special:
            token.special = True
        return token
    if not isinstance(token, str) or not token:
        raise InputError(f"tokens to add must be non-empty strings or AddedToken, got {token!r}")
    return AddedToken(token, special=special, normalized=not special)


def cleaned_up(tokenizer: Any, text: str, clean_up: bool | None = None) -> str:
    """``text`` decoded by ``tokenizer``, with transformers' clean-up of tokenization spaces where
    ``clean_up`` (None: the tokenizer's ``clean_up_tokenization_spaces``) asks for it, as its ``decode``
    applies it: never on a BPE model (a warning instead), unless the tokenizer's
    ``clean_up_tokenization_spaces_for_bpe_even_though_it_will_corrupt_output`` says so."""
    if clean_up is None:
        clean_up = getattr(tokenizer, "clean_up_tokenization_spaces", False)
    if not clean_up:
        return text
    bpe = type(tokenizer.backend.model).__name__ == "BPE"
    if bpe and not getattr(
        tokenizer, "clean_up_tokenization_spaces_for_bpe_even_though_it_will_corrupt_output", False
    ):
        name = getattr(tokenizer, "loaded_class", None) or type(tokenizer).__name__
        _warn_once(
            f"Ignoring clean_up_tokenization_spaces=True for BPE tokenizer {name}. The clean_up_tokenization "
            "post-processing step is designed for WordPiece tokenizers and is destructive for BPE (it strips "
            "spaces before punctuation). Set clean_up_tokenization_spaces=False to suppress this warning, or "
            "set clean_up_tokenization_spaces_for_bpe_even_though_it_will_corrupt_output=True to force "
            "cleanup anyway."
        )
        return text
    return _clean_up_text(text)


def _clean_up_text(text: str) -> str:
    for spaced, joined in _CLEAN_UP:
        text = text.replace(spaced, joined)
    return text


_warned: set[str] = set()


def _warn_once(message: str) -> None:
    """A message logged once per process, as transformers' ``logger.warning_once``."""
    if message not in _warned:
        _warned.add(message)
        logging.getLogger(__name__).warning(message)


def check_text_input(text: Any) -> None:
    """transformers' check of a call's text (or text pair): a string, or a list or tuple of strings, of
    word lists or of pairs of word lists (transformers' ``_is_valid_text_input``, which looks at the first
    item only); anything else is an :class:`InputTypeError` (a ``ValueError`` as there, and a
    ``TypeError``)."""
    if _valid_text_input(text):
        return
    given = type(text).__name__ if text is None else f"{type(text).__name__} {text!r:.60}"
    raise InputTypeError(
        f"{TEXT_INPUT_TYPES} Got {given}: pass the text as a string, "
        "a batch as a list of strings (str(value) for a number), or words as lists of strings with "
        "is_split_into_words=True."
    )


def _valid_text_input(text: Any) -> bool:
    if isinstance(text, str):
        return True
    if not isinstance(text, (list, tuple)):
        return False
    if len(text) == 0 or isinstance(text[0], str):
        return True
    first = text[0]
    if not isinstance(first, (list, tuple)):
        return False
    if len(first) == 0 or isinstance(first[0], str):
        return True
    return isinstance(first[0], (list, tuple)) and (len(first[0]) == 0 or isinstance(first[0][0], str))


def _check_derived_length(name: str, value: int, current: int, verbose: bool) -> None:
    """transformers' setters of the derived lengths: the value they have is accepted (warned about once,
    where ``verbose``), any other refused."""
    if value != current or not verbose:
        raise ValueError(f"Setting '{name}' is now deprecated. This value is automatically set up.")
    _warn_once(f"Setting '{name}' is now deprecated. This value is automatically set up.")


def _id_list(ids: Any) -> list[int]:
    if hasattr(ids, "tolist"):  # numpy arrays and torch tensors
        ids = ids.tolist()
    return [int(i) for i in ids]


def _row_lists(encodings: list[Any], width: int, pad_id: int, side: str) -> dict[str, list[list[int]]]:
    """The rows of ``encodings`` as lists, each padded up to ``width`` (a longer one kept as it is)."""
    return {
        "input_ids": [_padded_row(e.ids, width, pad_id, side) for e in encodings],
        "token_type_ids": [_padded_row(e.type_ids, width, 0, side) for e in encodings],
        "attention_mask": [_padded_row(e.attention_mask, width, 0, side) for e in encodings],
    }


def _pad_to(batch: dict[str, np.ndarray], width: int, pad_id: int, side: str) -> dict[str, np.ndarray]:
    extra = width - batch["input_ids"].shape[1]
    if extra <= 0:
        return batch
    fills = {"input_ids": pad_id, "attention_mask": 0, "token_type_ids": 0}
    spec = ((0, 0), (extra, 0)) if side == "left" else ((0, 0), (0, extra))
    return {name: np.pad(array, spec, constant_values=fills[name]) for name, array in batch.items()}


def _indices(batch_or_index: int, index: int | None) -> tuple[int, int]:
    """transformers' two-way call: ``(index)`` in the first text, or ``(batch_index, index)``."""
    return (0, batch_or_index) if index is None else (batch_or_index, index)


def _padded_row(row: Sequence[Any], width: int, fill: Any, side: str) -> list[Any]:
    """One row of per-token values padded up to ``width`` with ``fill`` on ``side`` (a longer one kept)."""
    extra = [fill] * (width - len(row))  # empty where the row is as long or longer
    return extra + list(row) if side == "left" else list(row) + extra


def _as(values: Any, return_tensors: str | None, single: bool) -> Any:
    if return_tensors is None:
        rows = values.tolist() if isinstance(values, np.ndarray) else values
        return rows[0] if single else rows
    if return_tensors not in ("np", "pt"):
        raise InputError(f"return_tensors must be 'pt', 'np' or None, got {return_tensors!r}")
    rows_of = isinstance(values, list) and values and isinstance(values[0], (list, tuple))
    if rows_of and len({len(row) for row in values}) > 1:  # rows of different lengths
        if return_tensors == "pt":
            raise InputError("texts of different lengths need padding=True to return tensors")
        ragged = np.empty(len(values), dtype=object)  # numpy: an array of rows, as transformers gives them
        ragged[:] = [np.asarray(row, dtype=np.int64) for row in values]
        return ragged
    array = np.asarray(values, dtype=np.int64)
    if return_tensors == "np":
        return array
    import torch

    return torch.from_numpy(array)
