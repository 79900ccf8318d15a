"""Pairs through a cross-encoder's chat template, as sentence-transformers 6.3 feeds them to the model.

A cross-encoder whose tokenizer has a chat template (a causal LM reranker, or a sequence classifier such as
a Qwen3 reranker's seq-cls form) gets each pair as two messages, roles "query" and "document" (a text alone:
one "user" message; a prompt: a leading "system" message, with no ``prompt_length``), rendered and tokenized
by the one chat renderer (``sbert._tokens.chat``); a row cut at ``max_length`` gets the template's tail
written back. A causal reranker's rows are left-padded: its score is read at the last position.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .._tokens.chat import ChatTemplate, chat_batch
from .._tokens.tokenizer import TextTokenizer


class ChatPairs:
    """Tokenizes pairs through the chat template of the tokenizer in ``folder``."""

    def __init__(
        self, folder: Path, model_type: str | None, saved_format: str = "auto", *, causal: bool = True
    ) -> None:
        tokenizer = TextTokenizer.from_folder(folder)
        if causal:
            tokenizer.padding_side = "left"  # the score is read at the last position
        self.chat = ChatTemplate(tokenizer, model_type, saved_format)
        self.format = self.chat.format
        self.chat.check_pair_roles({})

    def batch(self, items: list[Any], max_length: int, prompt: str | None = None) -> dict[str, np.ndarray]:
        """Padded ``input_ids``, ``attention_mask``, ``token_type_ids`` ``(B, L)`` of ``items`` (pairs, texts
        or conversations; ``max_length`` tokens at most), ``prompt`` a system message before each."""
        return chat_batch(self.chat, items, prompt, {}, max_length=max_length)
