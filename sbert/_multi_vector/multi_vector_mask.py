"""MultiVectorMask: the scoring mask of a late-interaction model, sentence-transformers' module of that name.

It rewrites ``features["attention_mask"]`` to the tokens MaxSim scores: the real tokens, plus a query's
expansion positions (``query_expansion_positions``), less the skiplist's tokens on the ``skiplist_tasks``
side (documents by default, an input without a task counting as a document) and, off the query side, only
``keep_only_token_ids`` when that is set.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch

from .._errors import InputError, ModelLoadError
from .._format.layout import read_json
from .._modules.base import Module
from .._modules.loading import st_loading
from .mask_arrays import skiplist_token_ids

CONFIG_FILE = "config.json"


class MultiVectorMask(Module):
    """The late-interaction scoring mask (see the module docstring); the skiplist's words become token ids
    through the model's tokenizer (:meth:`resolve_with_tokenizer`, which the model calls on load)."""

    config_keys = ["skiplist_words", "skiplist_tasks", "keep_only_token_ids"]
    forward_kwargs = {"task"}

    def __init__(
        self,
        skiplist_words: list[str] | None = None,
        *,
        skiplist_tasks: str | list[str] | None = None,
        keep_only_token_ids: list[int] | None = None,
    ) -> None:
        super().__init__()
        self.skiplist_words = _str_list("skiplist_words", skiplist_words, [])
        if isinstance(skiplist_tasks, str):
            skiplist_tasks = [skiplist_tasks]
        self.skiplist_tasks = _str_list("skiplist_tasks", skiplist_tasks, ["document"])
        self.keep_only_token_ids = (
            None if keep_only_token_ids is None else [int(i) for i in keep_only_token_ids]
        )
        self.skiplist_ids: torch.Tensor | None = None

    def on_model_ready(self, model: Any) -> None:
        self.resolve_with_tokenizer(model.tokenizer)

    def resolve_with_tokenizer(self, tokenizer: Any) -> None:
        """The skiplist's token ids; words the vocabulary lacks (they would map to the unknown token, and
        drop every real ``[UNK]``) are left out with a warning, as in sentence-transformers."""
        if not self.skiplist_words:
            self.skiplist_ids = None
            return
        kept = skiplist_token_ids(tokenizer, self.skiplist_words)
        self.skiplist_ids = torch.tensor(kept, dtype=torch.long) if kept else None

    def forward(self, features: dict[str, Any], task: str | None = None) -> dict[str, Any]:
        input_ids = features.get("input_ids")
        if input_ids is None:
            return features
        mask = features["attention_mask"].bool()
        expansion = features.get("query_expansion_positions")
        if task == "query" and expansion is not None:
            mask = mask | expansion.bool()
        if (task or "document") in self.skiplist_tasks and self.skiplist_ids is not None:
            mask = mask & ~torch.isin(input_ids, self.skiplist_ids.to(input_ids.device))
        if task != "query" and self.keep_only_token_ids:
            keep = torch.as_tensor(self.keep_only_token_ids, dtype=torch.long, device=input_ids.device)
            mask = mask & torch.isin(input_ids, keep)
        features["attention_mask"] = mask
        return features

    def get_config_dict(self) -> dict[str, Any]:
        return {key: getattr(self, key) for key in self.config_keys}

    def __repr__(self) -> str:
        return f"MultiVectorMask({self.get_config_dict()})"

    def save(self, folder: str | os.PathLike, *args: Any, **kwargs: Any) -> None:
        (Path(folder) / CONFIG_FILE).write_text(json.dumps(self.get_config_dict(), indent=4))

    @classmethod
    @st_loading
    def load(cls, folder: str | os.PathLike, **options: Any) -> MultiVectorMask:
        path = Path(folder) / CONFIG_FILE
        config = read_json(path) if path.is_file() else {}
        unknown = sorted(set(config) - set(cls.config_keys))
        if unknown:
            raise ModelLoadError(
                f"{path}: unknown MultiVectorMask settings {unknown}; it takes {cls.config_keys}."
            )
        skiplist = config.pop("skiplist_words", None)
        return cls(skiplist, **config)


def _str_list(name: str, value: Any, default: list[str]) -> list[str]:
    if value is None:
        return list(default)
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise InputError(f"MultiVectorMask {name} must be a list of strings, got {value!r}.")
    return list(value)
