"""Pairs through a causal reranker's chat template, as sentence-transformers 6.3 feeds them to the model.

A causal LM reranker whose tokenizer has a chat template gets each pair as two messages, roles "query" and
"document" (a text alone: one "user" message; a prompt: a leading "system" message, with no
``prompt_length``), rendered and tokenized by the one chat renderer (``sbert._tokens.chat``), left-padded:
the score is read at the last position, so a row cut at ``max_length`` gets the template's tail written back.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .._tokens.chat import ChatTemplate, chat_batch
from .._tokens.tokenizer import TextTokenizer


class ChatPairs:
    """Tokenizes pairs through the chat template of the tokenizer in ``folder``."""

    def __init__(self, folder: Path, model_type: str | None, saved_format: str = "auto") -> None:
        tokenizer = TextTokenizer.from_folder(folder)
        tokenizer.padding_side = "left"  # the score is read at the last position
        self.chat = ChatTemplate(tokenizer, model_type, saved_format)
        self.format = self.chat.format
        self.chat.check_pair_roles({})

    def batch(self, items: list[Any], max_length: int, prompt: str | None = None) -> dict[str, np.ndarray]:
        """Left-padded ``input_ids``, ``attention_mask`` ``(B, L)`` of ``items`` (pairs, texts or
        conversations; ``max_length`` tokens at most), ``prompt`` a system message before each."""
        padded = chat_batch(self.chat, items, prompt, {}, max_length=max_length)
        return {"input_ids": padded["input_ids"], "attention_mask": padded["attention_mask"]}
