"""Pairs through a causal reranker's chat template, as sentence-transformers 6.3 feeds them to the model.

A causal LM reranker whose tokenizer has a chat template gets each pair as two messages, roles "query" and
"document", rendered and tokenized by the one chat renderer (``sbert._tokens.chat``), left-padded: the score
is read at the last position, so a row cut at ``max_length`` gets the template's tail written back.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .._tokens.chat import ChatTemplate
from .._tokens.tokenizer import TextTokenizer


class ChatPairs:
    """Tokenizes pairs through the chat template of the tokenizer in ``folder``."""

    def __init__(self, folder: Path, model_type: str | None, saved_format: str = "auto") -> None:
        tokenizer = TextTokenizer.from_folder(folder)
        tokenizer.padding_side = "left"  # the score is read at the last position
        self.chat = ChatTemplate(tokenizer, model_type, saved_format)
        self.format = self.chat.format
        self.chat.check_pair_roles({})

    def messages(self, pair: tuple[str, str]) -> list[dict[str, Any]]:
        return self.chat.conversation(pair)

    def batch(self, pairs: list[tuple[str, str]], max_length: int) -> dict[str, np.ndarray]:
        """Left-padded ``input_ids``, ``attention_mask`` ``(B, L)`` of ``pairs`` (``max_length`` at most)."""
        encodings = self.chat.encode([self.messages(p) for p in pairs], {}, max_length=max_length)
        padded = self.chat.tokenizer.pad(encodings)
        return {"input_ids": padded["input_ids"], "attention_mask": padded["attention_mask"]}
