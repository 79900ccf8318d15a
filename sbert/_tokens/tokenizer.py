"""Text -> token ids, with the `tokenizers` library only (no transformers, no torch).

Reads the Hugging Face tokenizer files of a model folder and reproduces what
``AutoTokenizer(texts, padding=True, truncation=True, max_length=N)`` returns for single texts and text pairs.
"""

from __future__ import annotations

import copy
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .._errors import BackendUnavailableError, InputError, InvalidModelFileError, ModelLoadError, installed
from .._format.chat_template import read_chat_template, with_chat_template
from .added_tokens import add_special_again, add_tokens, init_options, rebuilt_without_added_tokens
from .class_templates import (
    LOWERCASE_DEFAULTS,
    READDS_SPECIAL_TOKENS,
    apply_class_template,
    extra_special_tokens,
    loaded_class,
    special_tokens,
    template_of,
)
from .hf_chat import apply_chat_template, chosen_template
from .hf_methods import (
    EXTRA_SPECIAL_KEYS,
    NAMED_SPECIAL_TOKENS,
    HuggingFaceTokenizerMethods,
    check_text_input,
)
from .transformers_base import count_as_transformers_tokenizer

# Files a tokenizer may need; copied verbatim on save so the saved folder loads anywhere.
TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "added_tokens.json",
    "vocab.txt",
    "vocab.json",
    "merges.txt",
    "sentencepiece.bpe.model",
    "spiece.model",
    "tokenizer.model",
    "chat_template.jinja",  # the chat template, which a model with chat input renders its inputs by
    "chat_template.json",
)
# sentence-transformers' tokenizer_kwargs that sbert applies (the ones its users pass for text models).
TOKENIZER_OPTIONS = (
    "model_max_length",
    "do_lower_case",
    "padding_side",
    "truncation_side",
    "clean_up_tokenization_spaces",
)
_SIDES = ("padding_side", "truncation_side")  # saved once set (see _changed_settings)
# tokenizer_kwargs that change no token id for sbert, which reads a tokenizer.json with the tokenizers
# library (always the fast tokenizer, never remote code; files as the model's): dropped, as haystack and
# others pass them through to sentence-transformers (and its Transformer.load passes its hub options).
IDLE_TOKENIZER_KWARGS = frozenset(
    {"use_fast", "cache_dir", "revision", "token", "local_files_only"}
    | {"trust_remote_code", "force_download", "subfolder"}
)
# Files an old (pre tokenizer.json) folder holds its vocabulary in; transformers converts them once.
_VOCAB_FILES = ("vocab.txt", "vocab.json", "sentencepiece.bpe.model", "spiece.model", "tokenizer.model")
# What that conversion imports (module -> pip name): transformers' converters, and for a SentencePiece model
# (.model) the sentencepiece library and protobuf, which transformers 5 reads it with (without them it tries
# tiktoken and reports that instead).
_CONVERTER_PACKAGES = {"transformers": "transformers"}
_SENTENCEPIECE_PACKAGES = {"sentencepiece": "sentencepiece", "google.protobuf": "protobuf"}
# transformers' settings a tokenizer keeps as attributes (the value where tokenizer_config.json has none);
# its save_pretrained writes each back where the file had it (or tokenizer_kwargs gave it).
_SAVED_SETTINGS = {
    "clean_up_tokenization_spaces": False,
    "split_special_tokens": False,
    "clean_up_tokenization_spaces_for_bpe_even_though_it_will_corrupt_output": False,
    "verbose": False,
}
# Classes whose own defaults differ from the base's (their __init__'s keyword defaults in transformers 5).
_CLASS_SETTINGS = {
    "ProphetNetTokenizer": {"clean_up_tokenization_spaces": True},
    "TapasTokenizer": {"clean_up_tokenization_spaces": True},
    "PLBartTokenizer": {"clean_up_tokenization_spaces": True},
    "LukeTokenizer": {"clean_up_tokenization_spaces_for_bpe_even_though_it_will_corrupt_output": True},
    "MLukeTokenizer": {"clean_up_tokenization_spaces_for_bpe_even_though_it_will_corrupt_output": True},
}


class TextTokenizer(HuggingFaceTokenizerMethods):
    """A fast tokenizer with the padding and truncation rules of a model folder (and, for code written
    against ``model.tokenizer`` in sentence-transformers, the methods of a transformers tokenizer)."""

    __module__ = "sbert._tokens.transformers_path"  # the path libraries recognise tokenizers by (see there)

    def __init__(self, backend: Any, files: dict[str, bytes], *, max_length: int | None = None) -> None:
        count_as_transformers_tokenizer(TextTokenizer)  # isinstance(..., PreTrainedTokenizerBase), as there
        self.backend = backend  # tokenizers.Tokenizer
        self.files = files
        config = _json_or_empty(files.get("tokenizer_config.json"))
        special = _json_or_empty(files.get("special_tokens_map.json"))
        # tokenizer_config.json's limit: a model folder without a saved max_seq_length falls back to it
        self.configured_max_length = _sane_limit(config.get("model_max_length"))
        self.padding_side = config.get("padding_side", "right")
        self._truncation_side = config.get("truncation_side", "right")
        self.tokenizer_class = config.get("tokenizer_class")
        # the class transformers' AutoTokenizer loads (from_folder: config.json's model type decides where
        # the folder names none); whether calls give token_type_ids follows it
        self.loaded_class: str | None = self.tokenizer_class
        # transformers' special-token attributes (pad_token, cls_token, ...: None where the model has none)
        for name in NAMED_SPECIAL_TOKENS:
            setattr(self, name, _token_content(config.get(name) or special.get(name)))
        self.extra_special_tokens = _extra_special_tokens(config, special)  # transformers' unnamed ones
        self.name_or_path = ""  # the folder, set by from_folder
        _apply_settings(self, config)
        self.deprecation_warnings: dict[str, bool] = {}  # transformers' record of warnings given once
        # settings the loading model gave besides the files' (sentence-transformers hands transformers a
        # saved max_seq_length as model_max_length): part of init_kwargs, as there
        self.loaded_with: dict[str, Any] = {}
        self.init_inputs: tuple[Any, ...] = ()
        self.backend.no_padding()
        self._handed_out = False  # backend_tokenizer given to a caller, who may change it
        self._forget_copies()
        self._max_length = 0
        self.max_length = max_length or self.configured_max_length or 512
        self._limit_set = max_length is not None  # a limit given or set since: saved (see saved_files)

    @classmethod
    def from_folder(cls, folder: str | Path, **options: Any) -> TextTokenizer:
        """The tokenizer of a model folder. ``options``: sentence-transformers' ``tokenizer_kwargs``
        (:data:`TOKENIZER_OPTIONS` and ``chat_template``, checked by the caller), written into the tokenizer's
        files as ``transformers`` would save them, so they apply here and travel with a saved model (a
        ``chat_template`` replaces the folder's, as ``from_pretrained(chat_template=...)`` does)."""
        from tokenizers import Tokenizer

        folder = Path(folder)
        files = {name: (folder / name).read_bytes() for name in TOKENIZER_FILES if (folder / name).is_file()}
        _check_settings_file(folder / "tokenizer_config.json", files.get("tokenizer_config.json"))
        vocabulary = [name for name in _VOCAB_FILES if name in files]
        if "tokenizer.json" not in files and vocabulary:
            converted, special = _converted(folder, vocabulary)
            files["tokenizer.json"] = converted.to_str().encode("utf-8")
            config = _json_or_empty(files.get("tokenizer_config.json"))
            # the class's default special tokens join the config, as transformers saves them
            if any(name not in config for name in special):
                files["tokenizer_config.json"] = _json_bytes({**special, **config})
        if "tokenizer.json" not in files:
            # transformers would build a tokenizer of special tokens only, mapping every word to [UNK].
            raise ModelLoadError(
                f"No tokenizer in {folder}: expected tokenizer.json or a vocabulary {list(_VOCAB_FILES)}. "
                "Copy the model's tokenizer files into the folder."
            )
        try:
            if "chat_template" in options:  # the folder's template, replaced (transformers' from_pretrained)
                files = with_chat_template(files, options.pop("chat_template"))
            if options:
                files = _with_options(files, options)
            backend = Tokenizer.from_str(files["tokenizer.json"].decode("utf-8"))
        except Exception as e:  # the Rust parser raises plain Exception subclasses
            raise InvalidModelFileError(  # transformers: a ValueError ("Unrecognized processing class")
                f"{folder / 'tokenizer.json'} is not a valid tokenizer file: {e}"
            ) from e
        model_config = _json_or_empty(_read_or_none(folder / "config.json"))
        backend, extra = _as_transformers_builds(backend, files, model_config)
        tokenizer = cls(backend, files)
        settings = _json_or_empty(files.get("tokenizer_config.json"))
        tokenizer.loaded_class = loaded_class(settings, model_config)
        _apply_settings(tokenizer, settings)  # the class's own defaults, now that it is known
        tokenizer.name_or_path = str(folder)
        # the unnamed special tokens the class hands on (T5's <extra_id_N> where the folder lists none)
        tokenizer.extra_special_tokens = [token for token in map(_token_content, extra or ()) if token]
        return tokenizer

    @classmethod
    def from_transformers(cls, tokenizer: Any, *, max_length: int | None = None) -> TextTokenizer:
        """A transformers tokenizer as sbert's, read back from the files it saves; ``max_length`` kept
        (the limit of the module it replaces a tokenizer in, as sentence-transformers 5 kept it)."""
        import tempfile

        with tempfile.TemporaryDirectory() as folder:
            tokenizer.save_pretrained(folder)
            converted = cls.from_folder(folder)
        converted.name_or_path = str(getattr(tokenizer, "name_or_path", "") or "")
        if max_length is not None:
            converted.max_length = max_length
        return converted

    @property
    def init_kwargs(self) -> dict[str, Any]:
        """transformers' record of what the tokenizer was made with: tokenizer_config.json's settings (the
        named special tokens as their ``AddedToken``, ``added_tokens_decoder`` by id, the older
        ``additional_special_tokens`` as ``extra_special_tokens``), the limit the model loaded it with,
        ``name_or_path``, and tokenizer.json's truncation and padding (not the class's vocabulary-file
        names, ``vocab_file``, ...)."""
        config = copy.deepcopy(_json_or_empty(self.files.get("tokenizer_config.json")))
        config.pop("tokenizer_class", None)
        if "additional_special_tokens" in config and not config.get("extra_special_tokens"):
            config["extra_special_tokens"] = config.pop("additional_special_tokens")
        added = self.backend.get_added_tokens_decoder()
        by_content = {token.content: token for token in added.values()}
        for name in NAMED_SPECIAL_TOKENS:
            content = _token_content(config.get(name))
            if content in by_content:
                config[name] = by_content[content]
        config |= self.loaded_with
        config |= {"name_or_path": self.name_or_path, "added_tokens_decoder": added}
        # the truncation and padding tokenizer.json holds, as transformers' TokenizersBackend adds them (the
        # file, megabytes for large vocabularies, parsed once while it stays the same)
        source = self.files.get("tokenizer.json")
        cached = self.__dict__.get("_file_settings")
        if cached is None or cached[0] is not source:
            saved = _json_or_empty(source)
            cached = self.__dict__["_file_settings"] = (
                source,
                {**_file_truncation(saved), **_file_padding(saved)},
            )
        for name, value in cached[1].items():
            config.setdefault(name, value)
        config.setdefault("backend", "tokenizers")
        # where transformers read it from: a local folder (sbert reads every tokenizer from one)
        config.setdefault("is_local", bool(self.name_or_path) and Path(self.name_or_path).is_dir())
        config.setdefault("local_files_only", False)
        return config

    @property
    def max_length(self) -> int:
        return self._max_length

    @max_length.setter
    def max_length(self, value: int) -> None:
        # transformers' "no limit" (int(1e30)) is beyond the Rust tokenizer's integers: no limit there either
        self.backend.enable_truncation(min(int(value), sys.maxsize), direction=self.truncation_side)
        self._max_length = int(value)
        self._limit_set = True

    # sentence-transformers 6 reads and sets a model's max_seq_length as its tokenizer's model_max_length
    model_max_length = max_length

    @property
    def truncation_side(self) -> str:
        """Which end of a long text is cut ("right" or "left"), as transformers' tokenizers say it."""
        return self._truncation_side

    @truncation_side.setter
    def truncation_side(self, side: str) -> None:
        if side not in ("left", "right"):
            raise InputError(f"truncation_side must be 'left' or 'right', got {side!r}")
        self._truncation_side = side
        if getattr(self, "_max_length", 0):  # set: truncate on the new side from now on
            self.max_length = self._max_length
            self._forget_copies()

    def _forget_copies(self) -> None:
        """Drop the Rust tokenizer's copies made for other truncation (the untruncated one, and those of
        :meth:`_encoder`): made again from the tokenizer as it is now, after it changed."""
        self._untruncated: Any = None  # a copy without truncation, made on first use (chunking)
        self._truncating: dict[tuple[Any, ...], Any] = {}  # (limit, strategy, side, split, stride) -> a copy

    @property
    def backend_tokenizer(self) -> Any:
        """The Rust ``tokenizers.Tokenizer``, as transformers' fast tokenizers expose it. Handed out, it may
        be changed (its template, normalizer, ...): the copies for other truncation are made again from it,
        and its truncation and padding are set back before sbert encodes with it, as transformers sets them
        on every call (``tokenizer.backend_tokenizer.no_truncation()`` leaves ``model.encode`` as it was)."""
        self._forget_copies()
        self._handed_out = True
        return self.backend

    def _reset_backend(self) -> None:
        """The Rust tokenizer's truncation and padding as this tokenizer keeps them, where a caller changed
        them on the handed-out tokenizer."""
        limit = min(self._max_length, sys.maxsize)
        side = self.truncation_side
        wanted = {"max_length": limit, "stride": 0, "strategy": "longest_first", "direction": side}
        now = self.backend.truncation or {}
        if any(now.get(key) != value for key, value in wanted.items()):
            self.backend.enable_truncation(limit, direction=side)
        if self.backend.padding is not None:
            self.backend.no_padding()

    @property
    def _tokenizer(self) -> Any:
        """The same, by the attribute transformers keeps it in, which scripts change directly
        (``tokenizer._tokenizer.post_processor = ...``)."""
        return self.backend_tokenizer

    def lowercase_inputs(self) -> None:
        """Lowercase texts in the Rust tokenizer's normalizer (sentence-transformers 6's ``do_lower_case``),
        so direct calls (``tokenizer(texts)``, ``tokenize``) lowercase too; once, whatever was there."""
        from tokenizers.normalizers import Lowercase, Sequence

        normalizer = self.backend.normalizer
        steps = (
            list(normalizer)
            if isinstance(normalizer, Sequence)
            else [normalizer]
            if normalizer is not None
            else []
        )
        if not any(isinstance(step, Lowercase) for step in steps):
            self.backend.normalizer = Sequence([Lowercase(), *steps])
            self._forget_copies()  # made again from the lowercasing tokenizer

    @property
    def do_lower_case(self) -> Any:
        """transformers' attribute of the tokenizer classes that have the switch (BERT, MPNet, ALBERT, ...):
        ``tokenizer_config.json``'s setting, else the class's default (read only: sbert lowercases through
        the normalizer, :meth:`lowercase_inputs`, as a module's ``do_lower_case`` asks). Other classes have
        no such attribute, as there."""
        default = LOWERCASE_DEFAULTS.get(str(self.loaded_class).removesuffix("Fast"))
        if default is None and not self.__dict__.get("_lower_case_set"):
            raise AttributeError(f"{self.loaded_class or type(self).__name__} has no attribute do_lower_case")
        return _json_or_empty(self.files.get("tokenizer_config.json")).get("do_lower_case", default)

    @do_lower_case.setter
    def do_lower_case(self, value: Any) -> None:
        """Set as on a transformers tokenizer: this tokenizer's texts are tokenized as before (its normalizer
        is made at load), the setting is saved and a reload follows it."""
        config = _json_or_empty(self.files.get("tokenizer_config.json"))
        self.files = {**self.files, "tokenizer_config.json": _json_bytes({**config, "do_lower_case": value})}
        self._lower_case_set = True

    def encode(
        self,
        text: str | Sequence[str],
        text_pair: str | Sequence[str] | None = None,
        add_special_tokens: bool = True,
        padding: bool | str = False,
        truncation: bool | str | None = None,
        max_length: int | None = None,
        *,
        split_special_tokens: bool | None = None,
        **options: Any,
    ) -> Any:
        """Token ids as a transformers tokenizer's ``encode(text, text_pair, ...)`` gives them: one list for a
        string, one list per text for a list of texts; keywords named as there (chunkers such as semchunk
        look for ``add_special_tokens`` and ``split_special_tokens`` in the signature before passing them).
        sbert's batching calls :meth:`encode_texts`."""
        check_text_input(text)  # before the call's own check, which takes a missing text for another error
        options |= {"padding": padding, "truncation": truncation, "max_length": max_length}
        options |= {"add_special_tokens": add_special_tokens}
        return self(text, text_pair, split_special_tokens=split_special_tokens, **options)["input_ids"]

    def encode_texts(self, texts: Sequence[str]) -> list[Any]:
        """Truncated encodings (no padding) of ``texts``, special tokens added: the batching step every
        tokenizer class has (``pad_encodings`` makes the batch)."""
        if self._handed_out:
            self._reset_backend()
        return self.backend.encode_batch(list(texts), add_special_tokens=True)

    def encode_pairs(self, pairs: Sequence[tuple[str, str]]) -> list[Any]:
        """Truncated encodings (no padding) of text pairs ``(a, b)`` as ``[CLS] a [SEP] b [SEP]`` (the
        model's pair template): the longer text loses tokens first, as transformers'
        ``truncation="longest_first"`` (cross-encoders)."""
        if self._handed_out:
            self._reset_backend()
        return self.backend.encode_batch([(a, b) for a, b in pairs], add_special_tokens=True)

    def encode_untruncated(self, texts: Sequence[str]) -> list[Any]:
        """Whole encodings of ``texts``, no special tokens: every token with its character offsets."""
        return self.untruncated_backend().encode_batch(list(texts), add_special_tokens=False)

    def untruncated_backend(self) -> Any:
        """The Rust tokenizer without truncation: a copy made once (the shared one's truncation never
        changes)."""
        if self._untruncated is None:
            self._untruncated = self._backend_copy()
            self._untruncated.no_truncation()
        return self._untruncated

    def with_truncation_side(self, side: str) -> TextTokenizer:
        """A copy that cuts on ``side`` ("left" or "right"); this tokenizer is never changed."""
        clone = copy.copy(self)  # padding rules shared, the Rust tokenizer copied
        clone.backend = self._backend_copy()
        clone.truncation_side = side  # re-applies truncation on the copy, on this side
        return clone

    def with_max_length(self, max_length: int) -> TextTokenizer:
        """A copy that truncates to ``max_length`` tokens (special tokens counted); this one is unchanged."""
        clone = copy.copy(self)
        clone.backend = self._backend_copy()
        clone.max_length = max_length  # applies truncation on the copy
        return clone

    def _backend_copy(self) -> Any:
        from tokenizers import Tokenizer

        if self._handed_out:
            self._reset_backend()
        copied = Tokenizer.from_str(self.backend.to_str())
        copied.encode_special_tokens = self.backend.encode_special_tokens  # not in the serialized form
        return copied

    @property
    def split_special_tokens(self) -> bool:
        """transformers' setting: a special token's text in the input (``"[SEP]"``) is tokenized as text, by
        every call and by ``model.encode`` (tokenizer_config.json's, else False)."""
        return bool(self.backend.encode_special_tokens)

    @split_special_tokens.setter
    def split_special_tokens(self, value: bool) -> None:
        self.backend.encode_special_tokens = bool(value)
        self._forget_copies()  # made again with the setting

    def pad_encodings(self, encodings: Sequence[Any], side: str | None = None) -> dict[str, np.ndarray]:
        """Pad encodings to the longest into int64 arrays ``(B, T)``, on ``side`` (default: the tokenizer's
        ``padding_side``)."""
        left = (side or self.padding_side) == "left"
        width = max((len(e.ids) for e in encodings), default=0)
        batch = len(encodings)
        ids = np.full((batch, width), self.padding_id, dtype=np.int64)
        types = np.zeros((batch, width), dtype=np.int64)
        mask = np.zeros((batch, width), dtype=np.int64)
        for row, enc in enumerate(encodings):
            n = len(enc.ids)
            cols = slice(width - n, width) if left else slice(0, n)
            ids[row, cols] = enc.ids
            types[row, cols] = enc.type_ids
            mask[row, cols] = 1
        return {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}

    def encode_padded(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        return self.pad_encodings(self.encode_texts(texts))

    def _vocabulary_changed(self) -> None:
        """After tokens were added: the saved files follow the Rust tokenizer (its added tokens in
        tokenizer.json; the special ones named in tokenizer_config.json, as transformers 5 writes it, and in
        special_tokens_map.json where the folder had one), and the copies for other truncation are made
        again."""
        self._forget_copies()
        plain = self._backend_copy()
        plain.no_truncation()  # sentence-transformers and transformers set their own on load
        plain.no_padding()
        files = {**self.files, "tokenizer.json": plain.to_str().encode("utf-8")}
        named = {
            name: getattr(self, name) for name in NAMED_SPECIAL_TOKENS if getattr(self, name) is not None
        }
        extra = list(self.extra_special_tokens)
        config = {**_json_or_empty(files.get("tokenizer_config.json")), **named}
        config.pop("additional_special_tokens", None)
        # transformers 4's list of the added tokens: readers take it over tokenizer.json's, so kept as the
        # folder had it the new tokens would be lost on reload; transformers 5 writes none (tokenizer.json
        # holds them, with their flags)
        config.pop("added_tokens_decoder", None)
        files["tokenizer_config.json"] = _json_bytes(
            {**config, **({"extra_special_tokens": extra} if extra else {})}
        )
        if "special_tokens_map.json" in files:  # the older file keeps the older key
            old = {**_json_or_empty(files["special_tokens_map.json"]), **named}
            old.pop("additional_special_tokens", None)
            files["special_tokens_map.json"] = _json_bytes(
                {**old, **({"additional_special_tokens": extra} if extra else {})}
            )
        self.files = files

    @property
    def chat_template(self) -> str | dict[str, str] | None:
        """The chat template (transformers' attribute): its file's, or ``tokenizer_config.json``'s."""
        cached = self.__dict__.get("_chat_template")
        if cached is None or cached[0] is not self.files:  # files replaced: read again
            cached = self.__dict__["_chat_template"] = (self.files, read_chat_template(self.files))
        return cached[1]

    @chat_template.setter
    def chat_template(self, template: str | dict[str, str] | None) -> None:
        """Set as transformers saves one: ``chat_template.jinja`` (several, named: ``chat_template.json``)."""
        self.files = with_chat_template(self.files, template)

    def get_chat_template(self, chat_template: str | None = None, tools: Any = None) -> str:
        """transformers' ``get_chat_template``: the template ``apply_chat_template`` renders with."""
        return chosen_template(self.chat_template, chat_template, tools)

    def apply_chat_template(self, conversation: Any, *args: Any, **options: Any) -> Any:
        """transformers' ``apply_chat_template``: messages rendered through the chat template (by
        transformers' jinja renderer), tokenized by :meth:`__call__` without special tokens unless
        ``tokenize=False`` (:mod:`.hf_chat`)."""
        return apply_chat_template(self, conversation, *args, **options)

    def saved_files(self) -> dict[str, bytes]:
        """The files :meth:`save` writes: the folder's, with what was set since load written as a
        transformers tokenizer's ``save_pretrained`` writes it (``_changed_settings``), so ``AutoTokenizer``
        and a reload read the tokenizer the model has; unchanged files are copied byte for byte."""
        config = _json_or_empty(self.files.get("tokenizer_config.json"))
        changed = self._changed_settings(config)
        if not changed:
            return self.files
        files = {**self.files, "tokenizer_config.json": _json_bytes({**config, **changed})}
        tokens = {name: value for name, value in changed.items() if name in NAMED_SPECIAL_TOKENS}
        if tokens and "special_tokens_map.json" in files:  # the older file names them too: kept in step
            files["special_tokens_map.json"] = _json_bytes(
                {**_json_or_empty(files["special_tokens_map.json"]), **tokens}
            )
        return files

    def _changed_settings(self, config: dict[str, Any]) -> dict[str, Any]:
        """What ``tokenizer_config.json`` gets on save: the current limit as ``model_max_length`` (which
        sentence-transformers 6 keeps a model's ``max_seq_length`` in alone; a tokenizer without a limit of
        its own, never given one, keeps none), the padding and truncation sides, the settings the file holds
        (``clean_up_tokenization_spaces``) as they are now, and special tokens set since load
        (``tokenizer.pad_token = tokenizer.eos_token``), as transformers writes its ``init_kwargs`` with
        the attributes' values and then its special tokens (its init_kwargs hold the sides only where
        tokenizer.json pads or truncates; here a side set is never lost on save)."""
        changed: dict[str, Any] = {}
        if (self._limit_set or self.configured_max_length is not None) and config.get(
            "model_max_length"
        ) != self.max_length:
            changed["model_max_length"] = self.max_length
        for name in _SIDES:  # transformers saves them where tokenizer.json pads or truncates: always here
            if config.get(name, "right") != getattr(self, name):
                changed[name] = getattr(self, name)
        for name in _SAVED_SETTINGS:  # written back where the file has them, as transformers does
            if name in config and config[name] != getattr(self, name):
                changed[name] = getattr(self, name)
        loaded = _json_or_empty(self.files.get("special_tokens_map.json"))
        for name in NAMED_SPECIAL_TOKENS:
            current = getattr(self, name)
            if current != _token_content(config.get(name) or loaded.get(name)) and (
                current is not None or name in config
            ):
                changed[name] = current
        return changed

    def save(self, folder: str | Path) -> None:
        folder = Path(folder)
        for name, data in self.saved_files().items():
            (folder / name).write_bytes(data)


def is_transformers_tokenizer(tokenizer: Any) -> bool:
    """Whether ``tokenizer`` is a transformers tokenizer (checked without importing transformers); sbert's own
    counts as one in ``isinstance`` once transformers' tokenizers are imported (see transformers_base), and is
    not one here."""
    return not isinstance(tokenizer, TextTokenizer) and any(
        kind.__name__ == "PreTrainedTokenizerBase" and kind.__module__.startswith("transformers.")
        for kind in type(tokenizer).__mro__
    )


_STRATEGIES = {"LongestFirst": "longest_first", "OnlyFirst": "only_first", "OnlySecond": "only_second"}


def _file_truncation(saved: dict[str, Any]) -> dict[str, Any]:
    """tokenizer.json's truncation as transformers' init_kwargs hold it (none where the file has none)."""
    truncation = saved.get("truncation")
    if not isinstance(truncation, dict):
        return {}
    return {
        "max_length": truncation.get("max_length"),
        "truncation_side": str(truncation.get("direction", "Right")).lower(),
        "stride": truncation.get("stride", 0),
        "truncation_strategy": _STRATEGIES.get(truncation.get("strategy"), truncation.get("strategy")),
    }


def _file_padding(saved: dict[str, Any]) -> dict[str, Any]:
    """tokenizer.json's padding as transformers' init_kwargs hold it (none where the file has none)."""
    padding = saved.get("padding")
    if not isinstance(padding, dict):
        return {}
    strategy = padding.get("strategy")
    return {
        "pad_token": padding.get("pad_token"),
        "pad_token_type_id": padding.get("pad_type_id", 0),
        "padding_side": str(padding.get("direction", "Right")).lower(),
        "max_length": strategy.get("Fixed") if isinstance(strategy, dict) else None,
        "pad_to_multiple_of": padding.get("pad_to_multiple_of"),
    }


def _apply_settings(tokenizer: TextTokenizer, config: dict[str, Any]) -> None:
    """transformers' settings kept as attributes (``clean_up_tokenization_spaces``, ...): the
    tokenizer_config.json's, else the loaded class's default, else transformers'."""
    own = _CLASS_SETTINGS.get(str(tokenizer.loaded_class).removesuffix("Fast"), {})
    for name, default in {**_SAVED_SETTINGS, **own}.items():
        setattr(tokenizer, name, config.get(name, default))


def _with_options(files: dict[str, bytes], options: dict[str, Any]) -> dict[str, bytes]:
    """``files`` with tokenizer options applied: every option in ``tokenizer_config.json`` (where
    ``__init__`` and transformers read them); ``do_lower_case`` also switches the lowercasing of a BERT
    normalizer in ``tokenizer.json``, as transformers' BERT tokenizers do (others have no such switch)."""
    config = {**_json_or_empty(files.get("tokenizer_config.json")), **options}
    files = {**files, "tokenizer_config.json": json.dumps(config, indent=2).encode("utf-8")}
    if "do_lower_case" in options:
        tokenizer = json.loads(files["tokenizer.json"])
        normalizer = tokenizer.get("normalizer") or {}
        for step in [normalizer, *normalizer.get("normalizers", ())]:
            if step.get("type") == "BertNormalizer":
                step["lowercase"] = bool(options["do_lower_case"])
        files["tokenizer.json"] = json.dumps(tokenizer, ensure_ascii=False).encode("utf-8")
    return files


def _as_transformers_builds(
    backend: Any, files: dict[str, bytes], model_config: dict[str, Any]
) -> tuple[Any, Any]:
    """The file's tokenizer as transformers 5's ``AutoTokenizer`` builds it, and its unnamed special tokens
    (its ``extra_special_tokens``): most classes build their
    normalizer, pre-tokenizer, decoder and post-processor from the class and tokenizer_config.json whatever
    tokenizer.json says (:mod:`.class_templates`), on the file's vocabulary alone; the added tokens are
    tokenizer_config.json's where it lists them (:mod:`.added_tokens`), and each class adds the special
    tokens the folder leaves out (named and unnamed: a file read as written gets them too)."""
    config = _json_or_empty(files.get("tokenizer_config.json"))
    template = template_of(config, model_config, backend)
    special = _json_or_empty(files.get("special_tokens_map.json"))
    options = init_options(
        config, special, _json_or_empty(files.get("added_tokens.json")), backend.get_added_tokens_decoder()
    )
    if template is not None:
        backend = rebuilt_without_added_tokens(backend)
    extra = extra_special_tokens(template, options)
    specials = add_tokens(
        backend, {**options, "extra_special_tokens": extra}, special_tokens(template, options)
    )
    if template in READDS_SPECIAL_TOKENS:
        add_special_again(backend, specials)
    if template is not None:
        apply_class_template(backend, template, {**special, **config})
    return backend, extra


def _converted(folder: Path, vocabulary: list[str]) -> tuple[Any, dict[str, str]]:
    """The fast tokenizer of an old folder that ships only vocabulary files, and its named special tokens
    (the class's defaults, which the folder's files may leave out): transformers' (the reference) where it is
    installed; without it, sbert's own build of the layouts it knows (BERT-family vocab.txt, RoBERTa
    vocab.json + merges.txt: :mod:`.vocab_files`), else the error that names what to install."""
    if not installed("transformers"):
        from .vocab_files import tokenizer_from_vocabulary

        converted = tokenizer_from_vocabulary(folder)
        if converted is not None:
            return converted
    return _convert_with_transformers(folder, vocabulary)


def _convert_with_transformers(folder: Path, vocabulary: list[str]) -> tuple[Any, dict[str, str]]:
    """The fast tokenizer of an old folder that ships only vocabulary files, built by transformers as its
    ``AutoTokenizer`` (sentence-transformers' tokenizer) builds it; its converters need no torch."""
    packages = dict(_CONVERTER_PACKAGES)
    if any(name.endswith(".model") for name in vocabulary):
        packages.update(_SENTENCEPIECE_PACKAGES)
    missing = [pip for module, pip in packages.items() if not installed(module)]
    if missing:
        *first, last = packages.values()
        raise BackendUnavailableError(
            f"{folder} has no tokenizer.json, only {', '.join(vocabulary)}: sbert builds its tokenizer from "
            f"{'it' if len(vocabulary) == 1 else 'them'} as transformers' AutoTokenizer does, with "
            f"{' and '.join(filter(None, [', '.join(first), last]))}; {', '.join(missing)} "
            f"{'is' if len(missing) == 1 else 'are'} not installed. "
            f"Install with: pip install {' '.join(missing)}; "
            "or save a tokenizer.json into the folder once, where they are installed: "
            f"AutoTokenizer.from_pretrained({str(folder)!r}).save_pretrained({str(folder)!r})"
        )
    try:
        from transformers import AutoTokenizer

        tok = AutoTokenizer.from_pretrained(folder, use_fast=True)
    except Exception as e:
        raise ModelLoadError(
            f"{folder} has no tokenizer.json, and transformers could not build one from "
            f"{', '.join(vocabulary)} ({e}). Copy the model's tokenizer.json into the folder."
        ) from e
    if not getattr(tok, "is_fast", False):
        raise ModelLoadError(f"The tokenizer in {folder} has no fast (Rust) version; sbert needs one.")
    special = {
        name: str(token) for name, token in tok.special_tokens_map.items() if name in NAMED_SPECIAL_TOKENS
    }
    return tok.backend_tokenizer, special


def _check_settings_file(path: Path, data: bytes | None) -> None:
    """A tokenizer_config.json that is not JSON is refused (its settings, lower-casing or the length
    limit, would be dropped unseen): an :class:`InvalidModelFileError`, a ``ValueError`` as transformers'
    ``json.JSONDecodeError`` under sentence-transformers."""
    try:
        json.loads(data or b"{}")
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise InvalidModelFileError(f"{path} is not valid JSON ({e}); fix or download the file again.") from e


def _json_or_empty(data: bytes | None) -> dict[str, Any]:
    if not data:
        return {}
    try:
        value = json.loads(data)
    except json.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


def _extra_special_tokens(*sources: dict[str, Any]) -> list[str]:
    """The unnamed special tokens a folder lists (transformers 5's key first, then the older one)."""
    for source in sources:
        for key in EXTRA_SPECIAL_KEYS:
            if isinstance(source.get(key), list):
                return [content for content in map(_token_content, source[key]) if content]
    return []


def _read_or_none(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None


def _json_bytes(value: dict[str, Any]) -> bytes:
    return json.dumps(value, indent=2, ensure_ascii=False).encode("utf-8")


def _token_content(token: Any) -> str | None:
    if isinstance(token, dict):
        return token.get("content")
    return token if isinstance(token, str) else getattr(token, "content", None)  # an AddedToken


def _sane_limit(value: Any) -> int | None:
    # Tokenizers without a limit store a huge sentinel (int(1e30)).
    return int(value) if isinstance(value, (int, float)) and 0 < value < 10**7 else None
