"""Pairs through a causal reranker's chat template, as sentence-transformers 6.3 feeds them to the model.

A causal LM reranker whose tokenizer has a chat template gets each pair as two messages, roles "query" and
"document" (flat ``content`` strings, or ``[{"type": "text", "text": ...}]`` where the template reads
structured content), rendered and tokenized by transformers' ``apply_chat_template``, left-padded. A row cut
at ``max_length`` gets the template's fixed tail (e.g. the assistant turn the model answers in) written back
over its last tokens, as sentence-transformers restores it: the score is read at the last position.
Runs with torch (the model) and transformers (the template's renderer) only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .._errors import InputError

PAIR_ROLES = ("query", "document")
# A baseline pair, then one varying each role: a template that drops a role renders the same for it.
_ROLE_PROBES = (("alpha", "bravo"), ("charlie", "bravo"), ("alpha", "foxtrot"))
# Model types whose templates read flat content (sentence-transformers' table); others: by the template.
_FLAT_MODEL_TYPES = {"apertus", "deepseek_v3", "gpt_oss", "minicpm3", "seed_oss"}
_STRUCTURED_PATTERNS = ("content[0]", ".type", "'type'", '"type"', "item.type", "message.content[")


def message_format(model_type: str | None, template: str) -> str:
    """ "flat" or "structured": the message content the template reads (sentence-transformers' inference)."""
    if model_type in _FLAT_MODEL_TYPES:
        return "flat"
    return "structured" if any(p in template for p in _STRUCTURED_PATTERNS) else "flat"


class ChatPairs:
    """Tokenizes pairs through the chat template of the tokenizer in ``folder`` (transformers')."""

    def __init__(self, folder: Path, model_type: str | None, saved_format: str = "auto") -> None:
        from transformers import AutoTokenizer

        self.tokenizer = AutoTokenizer.from_pretrained(str(folder))
        self.tokenizer.padding_side = "left"  # the score is read at the last position
        self.format = (
            message_format(model_type, self.tokenizer.chat_template or "")
            if saved_format == "auto"
            else saved_format
        )
        self._suffixes: dict[str, list[int]] = {}
        self._check_roles()

    def messages(self, pair: tuple[str, str]) -> list[dict[str, Any]]:
        if self.format == "flat":
            return [{"role": role, "content": text} for role, text in zip(PAIR_ROLES, pair)]
        return [
            {"role": role, "content": [{"type": "text", "text": text}]}
            for role, text in zip(PAIR_ROLES, pair)
        ]

    def _check_roles(self) -> None:
        """Refuse a template that renders no query or no document (its prompt would hold neither)."""
        try:
            base, *varied = (
                self.tokenizer.apply_chat_template(self.messages(p), tokenize=False) for p in _ROLE_PROBES
            )
        except Exception as e:  # the template's own error (jinja raises many kinds)
            failure = f"it raised {type(e).__name__}: {e}"
        else:
            dropped = [repr(role) for role, render in zip(PAIR_ROLES, varied) if render == base]
            failure = (
                f"the {' and '.join(dropped)} content does not reach the rendered prompt" if dropped else None
            )
        if failure is not None:
            raise InputError(
                f"The chat template of {self.tokenizer.name_or_path} cannot carry a 'query'/'document' pair "
                f"({failure}): set a chat template that renders both roles (a chat_template.jinja file)."
            )

    def batch(self, pairs: list[tuple[str, str]], max_length: int) -> dict[str, np.ndarray]:
        """Left-padded ``input_ids``, ``attention_mask`` ``(B, L)`` of ``pairs`` (``max_length`` at most)."""
        conversations = [self.messages(p) for p in pairs]
        out = self.tokenizer.apply_chat_template(
            conversations,
            tokenize=True,
            return_dict=True,
            padding=True,
            truncation="longest_first",
            max_length=max_length,
            return_tensors="np",
        )
        ids, mask = np.asarray(out["input_ids"]), np.asarray(out["attention_mask"])
        lengths = mask.sum(axis=1)
        for row in np.flatnonzero(lengths >= max_length):  # cut rows: the template's tail back at the end
            suffix = self._suffix(conversations[row])
            keep = min(len(suffix), int(lengths[row]))
            if keep:
                ids[row, ids.shape[1] - keep :] = suffix[-keep:]
        return {"input_ids": ids.astype(np.int64), "attention_mask": mask.astype(np.int64)}

    def _suffix(self, conversation: list[dict[str, Any]]) -> list[int]:
        """The template's fixed tail: the common token suffix of two renders with different contents."""
        key = repr([m["role"] for m in conversation])
        if key not in self._suffixes:
            first, second = (self._render(conversation, filler) for filler in ("0", "1 2 3 4"))
            count = 0
            for a, b in zip(reversed(first), reversed(second)):
                if a != b:
                    break
                count += 1
            self._suffixes[key] = (
                first[len(first) - count :] if 0 < count < min(len(first), len(second)) else []
            )
        return self._suffixes[key]

    def _render(self, conversation: list[dict[str, Any]], filler: str) -> list[int]:
        structured = self.format == "structured"
        content: Any = [{"type": "text", "text": filler}] if structured else filler
        skeleton = [{**m, "content": content} for m in conversation]
        out = self.tokenizer.apply_chat_template([skeleton], tokenize=True, return_dict=True)
        return list(out["input_ids"][0])
