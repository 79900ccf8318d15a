"""What sentence-transformers' trainers write into ``model.model_card_data`` as they are made (its model
card callback's ``on_init_end``): the training and evaluation datasets, the losses as tags, and the tags
``generated_from_trainer`` and ``dataset_size:<rows>``, so that a script reading them before ``train()``
sees the same. sbert's card (its own layout) reads the tags; the dataset records are there to be read."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from .._format.card_data import ModelCardData, card_data_dict
from .._losses.citations import SENTENCE_BERT

logger = logging.getLogger(__name__)


def record_trainer_start(model: Any, train_dataset: Any, eval_dataset: Any, loss: Any) -> None:
    """Record the trainer's datasets and losses in ``model.model_card_data``, as sentence-transformers'."""
    if model is None:
        return
    if not isinstance(model.model_card_data, ModelCardData):
        model.model_card_data = card_data_dict(model.model_card_data)
    card = model.model_card_data
    card.add_tags("generated_from_trainer")
    if train_dataset is not None:
        card.train_datasets = dataset_records(train_dataset, loss, card.train_datasets, "train")
        size = sum(record.get("size", 0) for record in card.train_datasets)
        if size:
            card.add_tags(f"dataset_size:{size}")
    if eval_dataset is not None:
        card.eval_datasets = dataset_records(eval_dataset, loss, card.eval_datasets, "eval")
    card.add_tags([f"loss:{type(each).__name__}" for each in all_losses(loss)])
    card["citations"] = loss_citations(all_losses(loss))


def loss_citations(losses: list[Any]) -> dict[str, str]:
    """What the card's "Citation" section lists, as sentence-transformers' card data records it:
    Sentence-BERT, then the BibTeX entry of each loss class that has one (a class used twice, SpladeLoss's
    two FlopsLoss regularizers, once: its last instance's entry); the classes citing one entry joined
    ("A and B")."""
    by_class: dict[str, str] = {"Sentence Transformers": SENTENCE_BERT}
    for each in losses:
        entry = getattr(each, "citation", None)
        if isinstance(entry, str):
            by_class[type(each).__name__] = entry
    cited: dict[str, list[str]] = {}
    for name, entry in by_class.items():
        cited.setdefault(entry, []).append(name)
    return {
        (", ".join(names[:-1]) + " and " + names[-1] if len(names) > 1 else names[0]): entry
        for entry, names in cited.items()
    }


def all_losses(loss: Any) -> list[Any]:
    """The losses and those inside them (an inner loss, the regularizers), in sentence-transformers' order."""
    losses = list(loss.values()) if isinstance(loss, Mapping) else [loss]
    for each in losses:  # grows as it goes
        for name in ("loss", "document_regularizer", "query_regularizer"):
            inner = getattr(each, name, None)
            if inner is not None and not isinstance(inner, (int, float, str)) and inner not in losses:
                losses.append(inner)
    return losses


def dataset_records(
    dataset: Any, loss: Any, given: list[dict[str, Any]] | None = None, kind: str = "train"
) -> list[dict[str, Any]]:
    """One record per dataset (each of a dict of them): name, split, size, columns (as the transform, if
    any, gives them), the first three examples and the loss's class. The records the card data was given
    (``train_datasets=[{"name": ..., "id": ...}]``) are kept and filled in, one per dataset; given for a
    different number of datasets, they are dropped with sentence-transformers' warning."""
    parts = list(dataset.items()) if isinstance(dataset, Mapping) else [(None, dataset)]
    given = list(given or [])
    if given and len(given) != len(parts):
        logger.warning(
            f"The number of `{kind}_datasets` in the model card data does not match the number of {kind} "
            f"datasets in the Trainer. Removing the provided `{kind}_datasets` from the model card data."
        )
        given = []
    return [
        _record(part, name, loss[name] if isinstance(loss, Mapping) else loss, given[i] if given else None)
        for i, (name, part) in enumerate(parts)
    ]


def _record(dataset: Any, name: str | None, loss: Any, given: dict[str, Any] | None) -> dict[str, Any]:
    info = getattr(dataset, "info", None)
    record: dict[str, Any] = (
        (dict(given) if isinstance(given, Mapping) else {"name": given})
        if given is not None
        else {
            "name": name or getattr(info, "dataset_name", None),
            "split": str(getattr(dataset, "split", None)),
        }
    )
    try:
        record["size"] = len(dataset)
        first = dataset[:3]  # a set_transform's columns, as the trainer will read them
    except (TypeError, KeyError):  # an iterable dataset: no length, no slicing
        first = None
    if isinstance(first, Mapping):
        columns = [column for column in first if column != "dataset_name"]
        record["examples"] = {column: first[column] for column in columns}
    else:
        columns = list(getattr(dataset, "column_names", None) or [])
    record["columns"] = [f"<code>{column}</code>" for column in columns]
    kind = type(loss)
    record["loss"] = {"fullname": f"{kind.__module__}.{kind.__qualname__}"}
    return record
