"""A user's data collator (sentence-transformers' ``data_collator=``) between a batch's rows and its loss.

sbert's trainer builds its batches itself (each text column tokenized, with its prompt and task); given a
collator, it runs the batch as sentence-transformers' trainer does instead: the batch's rows as a
``datasets.Dataset`` gives them (its ``set_transform`` applied; one by one for a ``DatasetDict``'s, as a
torch ``ConcatDataset`` reads them), with the ``dataset_name`` column that trainer adds where it adds one,
through the collator, onto the model's device, then split into the loss's inputs: one feature dict per
column (the keys ``{column}_input_ids``, ... of one column), or the text columns of a cross-encoder's batch.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Any

import numpy as np
import torch

from .._errors import InputError
from .arguments import prompted_pairs
from .batch_plan import TableView
from .collators import DATASET_NAME
from .data import TextDataset

# the keys that start a column's features: text (input_ids), bag-of-words, image, audio and video inputs
FEATURE_SUFFIXES = (
    "input_ids",
    "sentence_embedding",
    "pixel_values",
    "input_features",
    "input_values",
    "pixel_values_videos",
)


class Collate:
    """``collate(dataset, rows, name)``: the loss's ``(inputs, labels)`` for ``rows`` of ``dataset`` through
    the user's ``collator``.

    Args:
        collator: a callable rows -> batch dict (sentence-transformers' collators, a subclass, a function).
        device: where the batch's tensors go.
        cross: a cross-encoder's batch (text columns) rather than feature dicts.
        named: the names of the datasets given in a dict (their rows are read one by one).
        adds_name: whether their rows carry ``dataset_name`` (sentence-transformers' trainer adds it with a
            dict of losses, or prompts or a router mapping keyed by dataset names).
    """

    def __init__(
        self,
        collator: Callable[[list[dict[str, Any]]], dict[str, Any]],
        device: torch.device,
        *,
        cross: bool,
        named: Collection[str],
        adds_name: bool,
    ) -> None:
        if not callable(collator):
            raise InputError(
                f"data_collator must be callable (rows -> batch dict), got {type(collator).__name__}: pass "
                "e.g. SentenceTransformerDataCollator(preprocess_fn=model.preprocess), or leave it out."
            )
        self.collator, self.device, self.cross = collator, device, cross
        self.named, self.adds_name = frozenset(named), adds_name

    def __call__(self, dataset: TextDataset, rows: np.ndarray, name: str | None) -> tuple[list[Any], Any]:
        batch = self.batch(dataset, rows, name)
        batch.pop(DATASET_NAME, None)
        return self._texts(batch) if self.cross else collect_features(batch)

    def batch(self, dataset: TextDataset, rows: np.ndarray, name: str | None) -> dict[str, Any]:
        """The collated batch of ``rows`` on the device, as sentence-transformers' ``compute_loss`` gets it
        (``dataset_name`` included where that trainer adds it)."""
        return self.collated(self.rows(dataset, rows, name))

    def collated(self, rows: list[dict[str, Any]]) -> dict[str, Any]:
        """``rows`` (as :meth:`rows` gives them) through the collator, on the device."""
        batch = self.collator(rows)
        if not isinstance(batch, Mapping):
            raise InputError(f"data_collator returned {type(batch).__name__}; it must return a dict.")
        return _to_device(dict(batch), self.device)

    def rows(self, dataset: TextDataset, rows: np.ndarray, name: str | None) -> list[dict[str, Any]]:
        """The rows ``rows`` of ``dataset`` as the collator gets them."""
        table, indices = dataset.table, rows.tolist()
        from_dict = name is not None and name in self.named
        if table is None:  # not read from a datasets.Dataset: its texts, then "label"
            view = TableView(dataset)
            out = [view[i] for i in indices]
        elif from_dict or not hasattr(table, "__getitems__"):
            out = [dict(table[i]) for i in indices]
        else:
            out = [dict(row) for row in table.__getitems__(indices)]
        if from_dict and self.adds_name:
            for row in out:
                row[DATASET_NAME] = name
        return out

    @staticmethod
    def _texts(batch: dict[str, Any]) -> tuple[list[Any], Any]:
        """A cross-encoder batch's text columns and labels."""
        if batch.get("task"):
            raise InputError(
                "The data_collator gave a task for cross-encoder training, which sbert's losses do not take; "
                "train a CrossEncoder without a Router."
            )
        labels = batch.pop("label", None)
        texts = [v for k, v in batch.items() if k not in ("prompt", "task")]
        return prompted_pairs(texts, batch.get("prompt")), labels


def collect_features(batch: Mapping[str, Any]) -> tuple[list[dict[str, Any]], Any]:
    """One feature dict per column of a collated batch (the keys sharing the prefix of a ``*_input_ids`` or
    other feature key, in order, the prefix cut off), and its ``"label"`` (None without one)."""
    features, prefixes = [], set()
    for key in batch:
        suffix = next((s for s in FEATURE_SUFFIXES if key.endswith("_" + s)), None)
        prefix = key[: -len(suffix)] if suffix is not None else None
        if prefix is None or prefix in prefixes:
            continue
        prefixes.add(prefix)
        features.append({k[len(prefix) :]: v for k, v in batch.items() if k.startswith(prefix)})
    return features, batch.get("label")


def _to_device(value: Any, device: torch.device) -> Any:
    """``value`` with every tensor in it (in dicts, lists and tuples) on ``device``."""
    if isinstance(value, torch.Tensor):
        return value.to(device)
    if isinstance(value, Mapping):
        return type(value)({k: _to_device(v, device) for k, v in value.items()})
    if isinstance(value, (list, tuple)):
        return type(value)(_to_device(v, device) for v in value)
    return value
