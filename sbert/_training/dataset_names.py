"""What sentence-transformers' trainers do to a user's ``DatasetDict``: they put a lazy ``dataset_name``
column on each of its datasets (``set_transform``, in place) where batches must say which dataset they come
from (a dict of losses, prompts or a router mapping keyed by dataset names), and mark the dict as done.

sbert reads the rows into its own datasets first and names each batch itself, so nothing here feeds training:
it only leaves the user's objects as sentence-transformers leaves them (``dd["a"][0]`` then has
``"dataset_name"``, the format is ``"custom"``, the fingerprint moves), so code that looks at them after
building the trainer sees the same thing.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Mapping
from typing import Any

# the attribute sentence-transformers sets on a DatasetDict it has named (and then leaves alone)
MARK = "_sentence_transformers_preprocessed"


def adds_dataset_names(args: Any, losses: Any) -> bool:
    """Whether batches of a dict of datasets carry ``dataset_name``: a dict of losses, of prompts, or a router
    mapping of dicts (keyed by dataset names)."""
    mapping = getattr(args, "router_mapping", None)
    prompts = getattr(args, "prompts", None)
    return (
        isinstance(losses, Mapping)
        or (isinstance(prompts, dict) and bool(prompts))
        or (bool(mapping) and isinstance(mapping, dict) and isinstance(next(iter(mapping.values())), dict))
    )


def as_dataset_dict(data: Any) -> Any:
    """A plain dict of ``datasets`` tables as the ``DatasetDict`` sentence-transformers' trainer keeps (its
    ``train_dataset`` / ``eval_dataset``); anything else as given."""
    kinds = _dataset_kinds()
    if kinds is None or not isinstance(data, dict) or isinstance(data, kinds["DatasetDict"]):
        return data
    tables = (kinds["Dataset"], kinds["IterableDataset"])
    if not data or not all(isinstance(d, tables) for d in data.values()):
        return data
    return kinds["DatasetDict"](data)


def name_datasets(data: Any, args: Any, losses: Any) -> Any:
    """``data`` after sentence-transformers' preprocessing: a ``DatasetDict`` / ``IterableDatasetDict`` whose
    batches carry dataset names gets the lazy column on each dataset (in place, a stream replaced by its
    mapped copy) and the mark; anything else is left as it is."""
    kinds = _dataset_kinds()
    if data is None or kinds is None or hasattr(data, MARK):
        return data
    dicts = (kinds["DatasetDict"], kinds["IterableDatasetDict"])
    if not isinstance(data, dicts) or not adds_dataset_names(args, losses):
        return data
    for name, dataset in data.items():
        data[name] = _named(dataset, name, kinds)
    setattr(data, MARK, True)
    return data


def add_dataset_name(
    batch: dict[str, list[Any]],
    dataset_name: str | None = None,
    transform: Callable[[dict[str, list[Any]]], dict[str, list[Any]]] | None = None,
    **_format: Any,
) -> dict[str, list[Any]]:
    """The transform: the batch (through the dataset's earlier transform, kept) with ``dataset_name`` on
    every row; an empty batch as it is."""
    if transform is not None:
        batch = transform(batch)
    if not batch or not next(iter(batch.values())) or dataset_name is None:
        return batch
    batch["dataset_name"] = [dataset_name] * len(next(iter(batch.values())))
    return batch


def _named(dataset: Any, name: str, kinds: dict[str, type]) -> Any:
    if isinstance(dataset, kinds["Dataset"]):
        # the earlier format's options (its transform) go along, as sentence-transformers passes them
        options = dict(dataset.format.get("format_kwargs") or {})
        dataset.set_transform(functools.partial(add_dataset_name, dataset_name=name, **options))
        return dataset
    if isinstance(dataset, kinds["IterableDataset"]):
        features = dataset.features
        if features is not None:
            features["dataset_name"] = kinds["Value"]("string")
        return dataset.map(
            functools.partial(add_dataset_name, dataset_name=name), batched=True, features=features
        )
    return dataset


def _dataset_kinds() -> dict[str, type] | None:
    """The ``datasets`` classes, where a user's code imported the package (else no data of its kind)."""
    if "datasets" not in sys.modules:
        return None
    import datasets

    names = ("Dataset", "DatasetDict", "IterableDataset", "IterableDatasetDict", "Value")
    return {name: getattr(datasets, name) for name in names}
