"""Pairs through a cross-encoder's chat template, as sentence-transformers 6.3 feeds them to the model.

A cross-encoder whose tokenizer has a chat template (a causal LM reranker, or a sequence classifier such as
a Qwen3 reranker's seq-cls form) gets each pair as two messages, roles "query" and "document" (a text alone:
one "user" message; a prompt: a leading "system" message, with no ``prompt_length``), rendered and tokenized
by the one chat renderer (``sbert._tokens.chat``), as are conversations given as they are (a batch mixing
them with pairs is refused); a row cut at ``max_length`` gets the template's tail written back. A causal
reranker's rows are left-padded: its score is read at the last position. A caller that batches pairs itself
(the server) tokenizes them with :meth:`ChatPairs.tokenizer`, the same rendering.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._tokens.chat import (
    ChatTemplate,
    ChatTokenizer,
    chat_batch,
    chat_call,
    check_unmixed,
    is_conversation,
    is_message,
)
from .._tokens.tokenizer import TextTokenizer
from .inputs import check_pairs, preprocess_items


class ChatPairs:
    """Tokenizes pairs through the chat template of the cross-encoder's ``tokenizer`` (its template as now:
    the folder's, one given at load, or one a script set)."""

    def __init__(
        self,
        tokenizer: TextTokenizer,
        model_type: str | None,
        saved_format: str = "auto",
        *,
        causal: bool = True,
    ) -> None:
        if causal:
            tokenizer.padding_side = "left"  # the score is read at the last position
        self.chat = ChatTemplate(tokenizer, model_type, saved_format)
        self.format = self.chat.format
        self.chat.check_pair_roles({})

    @staticmethod
    def predict_items(inputs: Any) -> tuple[list[Any], bool]:
        """``predict``'s inputs (not one text) as a list, and whether one was given: pairs as
        :func:`check_pairs` reads them, or conversations (one message or one conversation is one input, by
        sentence-transformers 6.3's rule: a list whose first item is not a list is one); InputError where a
        batch mixes them."""
        if is_message(inputs) or is_conversation(inputs):
            return [inputs], True
        items = ChatPairs.conversations(inputs)
        return check_pairs(inputs) if items is None else (items, False)

    @staticmethod
    def preprocess_items(inputs: Any) -> list[Any]:
        """``preprocess``'s inputs: texts and pairs as :func:`preprocess_items` reads them, or messages and
        conversations (each message one conversation, as there)."""
        items = ChatPairs.conversations(inputs)
        return preprocess_items(inputs) if items is None else items

    @staticmethod
    def conversations(inputs: Any) -> list[Any] | None:
        """``inputs`` as a list where they are messages or conversations, None where they are not;
        InputError where a batch mixes them with texts or pairs."""
        if not isinstance(inputs, (list, tuple)) or not check_unmixed(inputs):
            return None
        return list(inputs)

    def batch(self, items: list[Any], max_length: int, prompt: str | None = None) -> dict[str, np.ndarray]:
        """Padded ``input_ids``, ``attention_mask``, ``token_type_ids`` ``(B, L)`` of ``items`` (pairs, texts
        or conversations; ``max_length`` tokens at most), ``prompt`` a system message before each."""
        return chat_batch(self.chat, items, prompt, {}, max_length=max_length)

    def tokenizer(self, max_length: int, prompt: str | None = None, side: str = "right") -> ChatTokenizer:
        """A private tokenizer of pairs and texts for a caller that batches them itself (the server): each
        rendered as :meth:`batch` renders it (``prompt`` a system message), cut at ``max_length`` tokens on
        ``side`` (a copy of the tokenizer: this one never changes), padded as the model reads them."""
        tokenizer = self.chat.tokenizer.with_truncation_side(side)
        tokenizer.max_length = max_length  # the copy's own limit, so encoding never copies it again
        chat = ChatTemplate(tokenizer, self.chat.model_type, self.chat.chosen_format)
        return ChatTokenizer(chat, prompt, chat_call(chat, {}, None, max_length))
