"""The numbers sentence-transformers' trainers draw from Python's ``random`` as they are made.

Its model-card callback picks the card's widget examples from the eval (else the training) data right after
the trainer seeds the generators: ``random.choices`` over the datasets, ``random.sample`` of rows, then one
draw per example. sbert's card has no widget, but a loss or a user's code that draws from ``random`` during
the run (``AdaptiveLayerLoss``, ``Matryoshka2dLoss``, ``MatryoshkaLoss(n_dims_per_step=...)``) must start
from the same state to pick the same layers and sizes for a seed, so :func:`draw_widget_examples` makes the
same draws. A cross-encoder's card takes its first rows (no draws); a model's card data remembers that it
got examples, and a later trainer on it draws nothing, as there.
"""

from __future__ import annotations

import random
import sys
from collections import Counter
from collections.abc import Mapping
from typing import Any

_DRAWN = "widget_examples_drawn"  # key in sbert's card-data dict: examples were picked (ST's card.widget)
_ROWS_CHECKED = 1000  # rows sampled per dataset, as there


def draw_widget_examples(model: Any, train_dataset: Any, eval_dataset: Any) -> None:
    """Draw from ``random`` as sentence-transformers' ``set_widget_examples`` does for this trainer."""
    kind = type(model).__name__
    if kind == "CrossEncoder" or model is None:
        return
    card = getattr(model, "model_card_data", None)
    if isinstance(card, dict) and card.get(_DRAWN):
        return
    dataset = eval_dataset or train_dataset
    if not dataset or "datasets" not in sys.modules:
        return  # no Hugging Face dataset: sentence-transformers' trainer takes no other kind
    picked = _draw(dataset, pairs=kind != "SparseEncoder")
    if picked and isinstance(card, dict):
        card[_DRAWN] = True


def _draw(dataset: Any, *, pairs: bool) -> int:
    """The draws themselves; returns how many widget examples sentence-transformers would keep."""
    from datasets import Dataset, IterableDataset, IterableDatasetDict, Value

    if isinstance(dataset, (IterableDataset, IterableDatasetDict)):
        return 0  # left alone there: sampling would use up the stream
    if isinstance(dataset, Dataset):
        named = {"dataset": dataset}
    elif isinstance(dataset, Mapping) and all(
        isinstance(d, (Dataset, IterableDataset)) for d in dataset.values()
    ):
        named = dict(dataset)
    else:
        return 0  # sbert's own readers (columns, files, TextDataset): not sentence-transformers' data
    kept = 0
    for name, count in Counter(random.choices(list(named), k=5)).items():
        data = named[name]
        if not isinstance(data, Dataset):
            continue
        if data.format["type"] == "custom":
            size = len(data)
            chosen = data.select(random.sample(range(size), k=min(_ROWS_CHECKED, size)))
            strings = ({key: value for key, value in r.items() if isinstance(value, str)} for r in chosen)
            rows = [row for row in strings if row]
            if not rows:
                continue
        else:
            columns = [
                column
                for column, feature in data.features.items()
                if isinstance(feature, dict)
                or (isinstance(feature, Value) and feature.dtype in {"string", "large_string"})
            ]
            texts = data.select_columns(columns)
            if len(texts) == 0:
                continue
            rows = list(texts.select(random.sample(range(len(texts)), k=min(_ROWS_CHECKED, len(texts)))))
        kept += _draw_examples(rows, count, pairs)
    return kept


def _draw_examples(rows: list[dict[str, Any]], count: int, pairs: bool) -> int:
    """The shortest ``count`` rows, each filled up to four texts from the longest others, one draw each."""

    def texts(row: dict[str, Any]) -> list[Any]:
        return [value for key, value in row.items() if key != "dataset_name"]

    lengths = {}
    for index, row in enumerate(rows):
        values = texts(row)
        if any(value == "" or (isinstance(value, dict) and "" in value.values()) for value in values):
            continue
        lengths[index] = sum(len(value) for value in values)
    if not lengths:
        return 0
    order = [index for index, _ in sorted(lengths.items(), key=lambda item: item[1])]
    targets, backups = order[:count], order[count:][::-1]
    kept = 0
    for index in targets:
        sentences = texts(rows[index])
        while len(sentences) < 4 and backups:
            backup = texts(rows[backups.pop()])
            sentences.extend(backup) if len(backup) == 1 else sentences.append(backup[1])
        if len(sentences) < 4:
            continue
        if pairs:  # "sentence-similarity": the source and the others, shuffled
            random.sample(sentences[1:], k=len(sentences) - 1)
        else:  # "feature-extraction" (sparse encoders): one of them
            random.choice(sentences)
        kept += 1
    return kept
