"""sentence-transformers' model-card widget examples: what its trainers pick as they are made.

Its model-card callback picks the card's widget examples from the eval (else the training) data right after
the trainer seeds the generators: ``random.choices`` over the datasets, ``random.sample`` of rows, then one
draw per example. :func:`draw_widget_examples` makes the same draws and keeps the same examples in the card
data's ``widget`` (the front matter's ``widget:``): a ``{"source_sentence", "sentences"}`` dict each for a
"sentence-similarity" model, a ``{"text"}`` dict for the others (SparseEncoder, MultiVectorEncoder). A loss
or a user's code that draws from ``random`` during the run (``AdaptiveLayerLoss``, ``Matryoshka2dLoss``,
``MatryoshkaLoss(n_dims_per_step=...)``) then starts from the same state too. A cross-encoder's card takes
no widget there (no draws); a model whose card data has examples gets no new ones from a later trainer.
"""

from __future__ import annotations

import random
import sys
from collections import Counter
from collections.abc import Mapping
from typing import Any

_ROWS_CHECKED = 1000  # rows sampled per dataset, as there
# each class's card-data pipeline tag there, for a model whose card data names none
_PIPELINE_TAGS = {"SparseEncoder": "feature-extraction", "MultiVectorEncoder": "feature-extraction"}


def draw_widget_examples(model: Any, train_dataset: Any, eval_dataset: Any) -> list[dict[str, Any]]:
    """Pick the widget examples sentence-transformers' ``set_widget_examples`` picks for this trainer,
    drawing from ``random`` as it does, into ``model.model_card_data["widget"]``; returns them ([] where it
    picks none: a CrossEncoder, examples already there, no Hugging Face dataset, a stream)."""
    kind = type(model).__name__
    if model is None:
        return []
    card = getattr(model, "model_card_data", None)
    held = card if isinstance(card, dict) else {}
    if held.get("widget"):
        return []
    dataset = eval_dataset or train_dataset
    if not dataset or "datasets" not in sys.modules:
        return []  # no Hugging Face dataset: sentence-transformers' trainer takes no other kind
    if kind == "CrossEncoder":  # no widget there: the usage example's pairs instead
        pairs = _cross_encoder_pairs(dataset)
        if pairs is not None and isinstance(card, dict):
            card["usage_examples"] = pairs
        return []
    # its card data's pipeline tag decides the examples' form (and the draw each takes)
    tag = held.get("pipeline_tag") or _PIPELINE_TAGS.get(kind, "sentence-similarity")
    picked = _draw(dataset, pairs=tag == "sentence-similarity")
    if picked is not None and isinstance(card, dict):
        card["widget"] = picked  # [] too, as there
    return picked or []


def _draw(dataset: Any, *, pairs: bool) -> list[dict[str, Any]] | None:
    """The draws and the examples they pick; None for data sentence-transformers leaves alone."""
    from datasets import Dataset, IterableDataset, IterableDatasetDict, Value

    if isinstance(dataset, (IterableDataset, IterableDatasetDict)):
        return None  # left alone there: sampling would use up the stream
    if isinstance(dataset, Dataset):
        named = {"dataset": dataset}
    elif isinstance(dataset, Mapping) and all(
        isinstance(d, (Dataset, IterableDataset)) for d in dataset.values()
    ):
        named = dict(dataset)
    else:
        return None  # sbert's own readers (columns, files, TextDataset): not sentence-transformers' data
    widget: list[dict[str, Any]] = []
    for name, count in Counter(random.choices(list(named), k=5)).items():
        data = named[name]
        if not isinstance(data, Dataset):
            continue
        if data.format["type"] == "custom":
            size = len(data)
            try:
                chosen = data.select(random.sample(range(size), k=min(_ROWS_CHECKED, size)))
                strings = [{key: value for key, value in r.items() if isinstance(value, str)} for r in chosen]
            except Exception:  # a transform that fails on plain rows gives none, as there
                continue
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
        widget += _draw_examples(rows, count, pairs)
    return widget


def _draw_examples(rows: list[dict[str, Any]], count: int, pairs: bool) -> list[dict[str, Any]]:
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
        return []
    order = [index for index, _ in sorted(lengths.items(), key=lambda item: item[1])]
    targets, backups = order[:count], order[count:][::-1]
    examples: list[dict[str, Any]] = []
    for index in targets:
        sentences = texts(rows[index])
        while len(sentences) < 4 and backups:
            backup = texts(rows[backups.pop()])
            sentences.extend(backup) if len(backup) == 1 else sentences.append(backup[1])
        if len(sentences) < 4:
            continue
        # a Router's {route: text} column (sentence-transformers' older asymmetric data): its text
        sentences = [next(iter(s.values())) if isinstance(s, dict) else s for s in sentences]
        if pairs:  # "sentence-similarity": the source and the others, shuffled
            others = random.sample(sentences[1:], k=len(sentences) - 1)
            examples.append({"source_sentence": sentences[0], "sentences": others})
        else:  # "feature-extraction" (sparse, multi-vector encoders): one of them
            examples.append({"text": random.choice(sentences)})
    return examples


def _cross_encoder_pairs(dataset: Any) -> list[list[Any]] | None:
    """A CrossEncoder's usage-example pairs, as sentence-transformers' card data picks them from a trainer's
    dataset (the first of a dict of them): the first two text columns (but ``label`` and ``dataset_name``)
    of its first 5 rows; a column of lists gives the first query with its first 5 answers. None where it
    picks none (a stream, an empty dataset, fewer than two text columns)."""
    from datasets import Dataset

    if isinstance(dataset, Mapping) and not isinstance(dataset, Dataset):
        dataset = next(iter(dataset.values()), None)
    if not isinstance(dataset, Dataset) or len(dataset) == 0:
        return None
    first = dataset[0]
    columns = [
        column
        for column, value in first.items()
        if column not in ("dataset_name", "label")
        and (isinstance(value, str) or (isinstance(value, list) and value and isinstance(value[0], str)))
    ][:2]
    if len(columns) < 2:
        return None
    queries, answers = dataset[:5][columns[0]], dataset[:5][columns[1]]
    if isinstance(first[columns[1]], list):
        answers = answers[0][:5]
        queries = [queries[0]] * len(answers)
    return [[query, answer] for query, answer in zip(queries, answers)]
