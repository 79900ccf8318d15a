"""Chat input through a tokenizer's chat template, as sentence-transformers 6.3's Transformer feeds it.

Each input becomes a conversation: a text one "user" message, a ``(query, document)`` pair a "query" and a
"document" message, a prompt a leading "system" message; a conversation (a list of ``{"role", "content"}``
dicts) is taken as it is. Conversations are rendered by transformers' Jinja renderer (with the tokenizer's
special tokens as template variables, as ``apply_chat_template`` passes them), then tokenized without
special tokens and cut at ``max_length``. A row cut there gets the template's fixed tail (e.g. a suffix the
template appends for queries) written back over its last tokens, as sentence-transformers restores it.
The one implementation of chat rendering: SentenceTransformer's encode, the Transformer module's
``preprocess`` and the causal CrossEncoder's pairs all go through :class:`ChatTemplate`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .._errors import BackendUnavailableError, InputError, installed
from .._format.chat_template import message_format
from .._format.transformer_config import merge_processing
from .hf_methods import NAMED_SPECIAL_TOKENS

PAIR_ROLES = ("query", "document")
# A baseline pair, then one varying each role: a template that drops a role renders the same for it.
_ROLE_PROBES = (("alpha", "bravo"), ("charlie", "bravo"), ("alpha", "foxtrot"))
# apply_chat_template's size options: the tokenizer call's, never the template's variables.
SIZE_OPTIONS = frozenset({"padding", "truncation", "max_length", "return_tensors"})
_SUFFIX_CACHE_SIZE = 256


def is_message(value: Any) -> bool:
    return isinstance(value, dict) and "role" in value and "content" in value


def is_conversation(value: Any) -> bool:
    """A list of chat messages (sentence-transformers 6.3's "message" input for one text)."""
    return isinstance(value, list) and bool(value) and is_message(value[0])


class ChatEncoding:
    """One rendered and tokenized input: what sbert's batching and ``TextTokenizer.pad_encodings`` read of an
    encoding (``ids``, ``type_ids``; ``overflowing`` non-empty when it was cut)."""

    __slots__ = ("ids", "overflowing", "type_ids")

    def __init__(self, ids: list[int], cut: bool) -> None:
        self.ids = ids
        self.type_ids = [0] * len(ids)
        self.overflowing = [True] if cut else []


class ChatTemplate:
    """The chat template of ``tokenizer`` (sbert's ``TextTokenizer``); ``message_format`` "flat",
    "structured" or "auto" (by the template, as sentence-transformers infers it)."""

    def __init__(self, tokenizer: Any, model_type: str | None = None, fmt: str = "auto") -> None:
        self.tokenizer = tokenizer
        self.model_type, self.chosen_format = model_type, fmt
        self._format: tuple[Any, str] | None = None
        if self.template is None:
            raise InputError(
                f"The tokenizer of {tokenizer.name_or_path or 'this model'} has no chat template, so it "
                "cannot read chat messages: add a chat_template.jinja file beside it."
            )
        if not installed("transformers") or not installed("jinja2"):  # the renderer, from the torch extra
            raise BackendUnavailableError(
                f"{tokenizer.name_or_path or 'This model'} renders its inputs through a chat template, which "
                "needs transformers and jinja2 (not in the base install). Install them with: "
                "pip install 'sbert[torch]'"
            )
        self._suffixes: dict[str, list[int]] = {}
        self._roles_checked: dict[str, str | None] = {}

    @property
    def template(self) -> str | dict[str, str] | None:
        """The tokenizer's template as it is now (a script may set ``tokenizer.chat_template``)."""
        return self.tokenizer.chat_template

    @property
    def format(self) -> str:
        """How messages are written: "flat" or "structured" (by the template where chosen "auto")."""
        if self.chosen_format != "auto":
            return self.chosen_format
        template = self.template
        if self._format is None or self._format[0] is not template:  # once per template, not per message
            self._format = (template, message_format(self.model_type, template))
        return self._format[1]

    # ------------------------------------------------------------------ inputs -> conversations

    def message(self, content: str, role: str = "user") -> dict[str, Any]:
        if self.format == "flat":
            return {"role": role, "content": content}
        return {"role": role, "content": [{"type": "text", "text": content}]}

    def conversation(self, item: Any, prompt: str | None = None) -> list[dict[str, Any]]:
        """``item`` (a text, a pair, a message or a conversation) as sentence-transformers 6.3 converts it;
        a ``prompt`` becomes a leading system message."""
        if isinstance(item, str):
            messages = [self.message(item)]
        elif is_message(item):
            messages = [item]
        elif is_conversation(item):
            messages = list(item)
        elif isinstance(item, (tuple, list)) and len(item) == 2 and all(isinstance(t, str) for t in item):
            messages = [self.message(text, role) for role, text in zip(PAIR_ROLES, item)]
        else:
            raise InputError(
                f"A chat-template model reads texts, (query, document) pairs and conversations (lists of "
                f"{{'role': ..., 'content': ...}} dicts); got {type(item).__name__}."
            )
        return [self.message(prompt, "system"), *messages] if prompt else messages

    # ------------------------------------------------------------------ rendering and tokens

    def render(self, conversations: Sequence[list[dict[str, Any]]], options: dict[str, Any]) -> list[str]:
        """The rendered prompts, as ``apply_chat_template(..., tokenize=False, **options)`` renders them."""
        from transformers.utils.chat_template_utils import render_jinja_template

        options = dict(options)
        template = self._template(options.pop("chat_template", None), options.get("tools"))
        special = {
            name: str(getattr(self.tokenizer, name))
            for name in NAMED_SPECIAL_TOKENS
            if getattr(self.tokenizer, name, None) is not None
        }
        # transformers drops keys whose value is None (an API's content=None), which templates mishandle
        cleaned = [[{k: v for k, v in m.items() if v is not None} for m in c] for c in conversations]
        rendered, _ = render_jinja_template(
            conversations=cleaned, chat_template=template, **{**special, **options}
        )
        return rendered

    def _template(self, chosen: str | None, tools: Any) -> str:
        """transformers' ``get_chat_template``: a named template of several, the default, or ``chosen``."""
        if not isinstance(self.template, dict):
            return chosen or self.template
        if chosen is not None:
            return self.template.get(chosen, chosen)
        if tools is not None and "tool_use" in self.template:
            return self.template["tool_use"]
        if "default" not in self.template:
            raise InputError(
                "This model has several chat templates and no default: name one with processing_kwargs="
                f"{{'chat_template': {{'chat_template': name}}}}, one of {sorted(self.template)}."
            )
        return self.template["default"]

    def encode(
        self,
        conversations: Sequence[list[dict[str, Any]]],
        options: dict[str, Any],
        *,
        max_length: int | None,
        restore_suffix: bool = True,
    ) -> list[ChatEncoding]:
        """Rendered and tokenized ``conversations``, each cut at ``max_length`` tokens (``None``: uncut),
        the template's tail restored on the cut ones (unless ``restore_suffix`` is off)."""
        if not conversations:
            return []
        rendered = self.render(conversations, options)
        if max_length is None:
            backend = self.tokenizer.untruncated_backend()
        elif max_length == self.tokenizer.max_length:
            backend = self.tokenizer.backend
        else:
            backend = self.tokenizer.with_max_length(max_length).backend
        out = []
        for conversation, enc in zip(conversations, backend.encode_batch(rendered, add_special_tokens=False)):
            ids = list(enc.ids)
            cut = max_length is not None and len(ids) >= max_length
            if cut and restore_suffix:
                suffix = self._suffix(conversation, options)
                keep = min(len(suffix), len(ids))
                if keep:
                    ids[len(ids) - keep :] = suffix[len(suffix) - keep :]
            out.append(ChatEncoding(ids, cut and bool(enc.overflowing)))
        return out

    def _suffix(self, conversation: list[dict[str, Any]], options: dict[str, Any]) -> list[int]:
        """The template's fixed tail after the content: the common token suffix of two renders with
        different contents (system messages kept, as they may render in the tail); cached per layout."""
        if not _text_only(conversation):
            return []
        key = repr((sorted(options.items()), _skeleton(conversation, "")))
        if key in self._suffixes:
            return self._suffixes[key]
        backend = self.tokenizer.untruncated_backend()
        first, second = (
            backend.encode(
                self.render([_skeleton(conversation, f)], options)[0], add_special_tokens=False
            ).ids
            for f in ("0", "1 2 3 4")
        )
        count = 0
        for a, b in zip(reversed(first), reversed(second)):
            if a != b:
                break
            count += 1
        # renders that never diverged hold no content to tell the tail by
        suffix = first[len(first) - count :] if 0 < count < min(len(first), len(second)) else []
        if len(self._suffixes) >= _SUFFIX_CACHE_SIZE:
            self._suffixes.pop(next(iter(self._suffixes)))
        self._suffixes[key] = suffix
        return suffix

    def check_pair_roles(self, options: dict[str, Any]) -> None:
        """Refuse a template that renders no query or no document for a pair (its prompt would hold
        neither), as sentence-transformers 6.3 does."""
        key = repr(sorted(options.items()))
        if key not in self._roles_checked:
            try:
                base, *varied = (self.render([self.conversation(p)], options)[0] for p in _ROLE_PROBES)
            except Exception as e:  # the template's own error (jinja raises many kinds)
                failure: str | None = f"it raised {type(e).__name__}: {e}"
            else:
                dropped = [repr(r) for r, text in zip(PAIR_ROLES, varied) if text == base]
                failure = (
                    f"the {' and '.join(dropped)} content does not reach the rendered prompt"
                    if dropped
                    else None
                )
            self._roles_checked[key] = failure
        failure = self._roles_checked[key]
        if failure is not None:
            raise InputError(
                f"The chat template of {self.tokenizer.name_or_path or 'this model'} cannot carry a "
                f"'query'/'document' pair ({failure}): set a chat template that renders both roles (a "
                "chat_template.jinja file)."
            )


def has_pair(conversations: Sequence[list[dict[str, Any]]]) -> bool:
    return any(set(PAIR_ROLES) <= {m.get("role") for m in c} for c in conversations)


def _text_only(conversation: list[dict[str, Any]]) -> bool:
    for message in conversation:
        content = message.get("content")
        if isinstance(content, list):
            if any(not isinstance(part, dict) or part.get("type", "text") != "text" for part in content):
                return False
        elif not isinstance(content, str):
            return False
    return True


def _skeleton(conversation: list[dict[str, Any]], filler: str) -> list[dict[str, Any]]:
    """Every non-system message's content replaced by ``filler`` (in its own form), the rest kept."""
    out = []
    for message in conversation:
        if message.get("role") == "system":
            out.append(message)
            continue
        content: Any = (
            [{"type": "text", "text": filler}] if isinstance(message.get("content"), list) else filler
        )
        out.append({**message, "content": content})
    return out


def chat_call(
    chat: ChatTemplate, processing: dict[str, Any], task: str | None, max_length: int | None = None
) -> tuple[dict[str, Any], int | None, bool]:
    """One call's template variables, token limit (``None``: uncut) and whether the tail is restored, from
    ``processing_kwargs`` as sentence-transformers 6.3 reads them: the "chat_template" entry's size options
    over "text"'s over "common"'s over ``max_length`` (the trainer's) over the tokenizer's; its
    ``restore_suffix`` (default on) is sbert's and sentence-transformers' own, never the template's; ``task``
    is a template variable."""
    options = dict(processing.get("chat_template") or {})
    restore = bool(options.pop("restore_suffix", True))
    sizes: dict[str, Any] = {"truncation": "longest_first"}
    if max_length is not None:
        sizes["max_length"] = max_length
    for source in (processing.get("common") or {}, processing.get("text") or {}, options):
        sizes.update({k: v for k, v in source.items() if k in SIZE_OPTIONS})
    options = {k: v for k, v in options.items() if k not in SIZE_OPTIONS}
    if task is not None:  # a template that reads no task renders the same with it
        options = {"task": task, **options}
    truncation = sizes["truncation"]
    if truncation is False or truncation == "do_not_truncate":
        return options, None, restore
    return options, sizes.get("max_length") or chat.tokenizer.max_length, restore


def chat_batch(
    chat: ChatTemplate,
    inputs: Sequence[Any],
    prompt: str | None,
    processing: dict[str, Any],
    *,
    task: str | None = None,
    max_length: int | None = None,
) -> dict[str, Any]:
    """``inputs`` as conversations (``prompt`` a system message), rendered, tokenized and padded (numpy
    ``input_ids``, ``attention_mask``, ``token_type_ids``)."""
    options, limit, restore = chat_call(chat, processing, task, max_length)
    conversations = [chat.conversation(item, prompt) for item in inputs]
    if has_pair(conversations):
        chat.check_pair_roles(options)
    return chat.tokenizer.pad_encodings(
        chat.encode(conversations, options, max_length=limit, restore_suffix=restore)
    )


def chat_features(
    chat: ChatTemplate,
    inputs: Sequence[Any],
    prompt: str | None,
    processing: dict[str, Any],
    *,
    token_types: bool,
    task: str | None = None,
    max_length: int | None = None,
) -> dict[str, Any]:
    """The features sentence-transformers 6.3's Transformer ``preprocess`` makes of chat input, as numpy
    arrays: :func:`chat_batch`'s (``token_type_ids`` only for an encoder that takes them) and ``"modality":
    "message"`` (no ``prompt_length``: the prompt is a system message). The one form of them for the torch
    module and a model on another backend."""
    batch = chat_batch(chat, inputs, prompt, processing, task=task, max_length=max_length)
    # in the order a transformers tokenizer gives them: ids, token types, mask
    names = (
        ("input_ids", "token_type_ids", "attention_mask") if token_types else ("input_ids", "attention_mask")
    )
    ordered = {name: batch.pop(name) for name in names if name in batch}
    batch.pop("token_type_ids", None)
    return {**ordered, **batch, "modality": "message"}


class ChatTokenizer:
    """What SentenceTransformer's batching calls a tokenizer for (``encode``, ``pad``, ``padding_side``),
    over chat input: each item (a text, a pair or a conversation) rendered with one call's settings."""

    def __init__(self, chat: ChatTemplate, prompt: str | None, call: tuple[dict[str, Any], int | None, bool]):
        self.chat, self.prompt = chat, prompt
        self.options, self.max_length, self.restore = call
        self.padding_side = chat.tokenizer.padding_side

    def encode_texts(self, items: Sequence[Any]) -> list[ChatEncoding]:
        conversations = [self.chat.conversation(item, self.prompt) for item in items]
        if has_pair(conversations):
            self.chat.check_pair_roles(self.options)
        return self.chat.encode(
            conversations, self.options, max_length=self.max_length, restore_suffix=self.restore
        )

    def encode_pairs(self, pairs: Sequence[Any]) -> list[ChatEncoding]:
        """A cross-encoder's pairs, each a "query" and a "document" message (``TextTokenizer``'s name)."""
        return self.encode_texts(pairs)

    def pad_encodings(self, encodings: Sequence[Any]) -> dict[str, Any]:
        return self.chat.tokenizer.pad_encodings(encodings)

    def decode(self, ids: Any, skip_special_tokens: bool = False, **options: Any) -> str:
        return str(self.chat.tokenizer.decode(ids, skip_special_tokens=skip_special_tokens, **options))


class ChatInput:
    """Mixed into an input module holding a ``tokenizer`` and a ``modality_config`` (sbert's Transformer, the
    SparseEncoder's masked-LM on torch and on ONNX): with a "message" entry its inputs are rendered through
    the tokenizer's chat template, as sentence-transformers 6.3's Transformer renders them."""

    tokenizer: Any
    modality_config: Any
    processing_kwargs: Any
    takes_token_type_ids: bool
    encoder_model_type: str | None

    @property
    def chat(self) -> ChatTemplate | None:
        """The chat template that renders this module's inputs where it takes chat input (a "message"
        entry in ``modality_config``), else ``None``."""
        message = self.modality_config.get("message")
        if message is None:
            return None
        cached = self.__dict__.get("_chat")
        if cached is None or cached.tokenizer is not self.tokenizer:
            fmt = str(message.get("format", "auto"))
            cached = self.__dict__["_chat"] = ChatTemplate(self.tokenizer, self.encoder_model_type, fmt)
        return cached

    def chat_arrays(
        self, inputs: Sequence[Any], prompt: str | None, processing_kwargs: Any, kwargs: dict[str, Any]
    ) -> dict[str, Any]:
        """:func:`chat_features` of ``inputs`` (numpy arrays), this call's ``processing_kwargs`` over the
        module's; ``kwargs``: ``preprocess``'s (``task``, the trainer's ``max_length``)."""
        chat = self.chat
        assert chat is not None, "chat_arrays is for a module that reads chat input"
        return chat_features(
            chat,
            inputs,
            prompt,
            merge_processing(self.processing_kwargs, processing_kwargs),
            token_types=self.takes_token_type_ids,
            task=kwargs.get("task"),
            max_length=kwargs.get("max_length"),
        )


def chat_inputs(inputs: Any) -> tuple[list[Any], bool]:
    """An encode call's inputs as a list, and whether they were one input: one message or one
    conversation (a list of messages) is one input, as in sentence-transformers 6.3."""
    if isinstance(inputs, str) or is_message(inputs) or is_conversation(inputs):
        return [inputs], True
    if not isinstance(inputs, (list, tuple)):
        raise InputError(
            f"encode takes a text, a conversation or a list of them; got {type(inputs).__name__}."
        )
    items = list(inputs)
    check_unmixed(items)
    return items, False


def check_unmixed(items: Sequence[Any]) -> bool:
    """Whether ``items`` are messages or conversations; InputError where they mix them with texts or pairs."""
    chats = sum(is_message(i) or is_conversation(i) for i in items)
    if 0 < chats < len(items):
        raise InputError(
            "Pass conversations and texts (or pairs) in separate calls: sentence-transformers 6.3 renders "
            "a batch that mixes them with each conversation nested inside a user message; sbert does not."
        )
    return chats > 0
