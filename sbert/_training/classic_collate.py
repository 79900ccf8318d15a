"""The ``collate_fn`` s of training loops written before sentence-transformers 3, which build their own
``DataLoader`` of ``InputExample`` s and call a loss on each batch:

    loader = DataLoader(examples, batch_size=16, collate_fn=model.smart_batching_collate)
    for features, labels in loader:
        loss_fn(features, labels).backward()

Imports torch when called, not before.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._errors import InputError, require_torch
from .._tokens.hf_methods import own_call


def _texts_of(example: Any) -> list[str]:
    texts = getattr(example, "texts", None)
    if texts is None:
        raise InputError(
            f"smart_batching_collate takes InputExample items (with .texts), got {type(example).__name__}"
        )
    return list(texts)


def _labels_tensor(labels: list[Any], dtype: Any = None) -> Any:
    import torch

    if labels and isinstance(labels[0], np.ndarray):  # one vector per example (distillation targets)
        return torch.from_numpy(np.stack(labels))
    return torch.tensor(labels, dtype=dtype)


def collate_examples(model: Any, batch: list[Any]) -> tuple[list[dict[str, Any]], Any]:
    """A bi-encoder's batch: the features of each text column (``model.preprocess``) and the labels."""
    require_torch("smart_batching_collate (it returns torch tensors)")
    columns = zip(*(_texts_of(example) for example in batch))
    features = [model.preprocess(list(column)) for column in columns]
    return features, _labels_tensor([example.label for example in batch])


def collate_pairs(model: Any, batch: list[Any], *, with_labels: bool = True) -> Any:
    """A cross-encoder's batch: the tokenized text pairs (each text stripped, longest-first truncation),
    on the model's device, and with ``with_labels`` the labels (float for one label, else class ids)."""
    require_torch("smart_batching_collate (it returns torch tensors)")
    rows = [_texts_of(example) if with_labels else list(example) for example in batch]
    columns = [[text.strip() for text in column] for column in zip(*rows)]
    truncation = "longest_first" if with_labels else True
    tokenized = own_call(model.tokenizer, *columns, padding=True, truncation=truncation, return_tensors="pt")
    device = model.model.device
    for name in tokenized:
        tokenized[name] = tokenized[name].to(device)
    if not with_labels:
        return tokenized
    import torch

    dtype = torch.float if model.config.num_labels == 1 else torch.long
    return tokenized, _labels_tensor([example.label for example in batch], dtype).to(device)
