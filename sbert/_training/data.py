"""Training data: text columns (and an optional label column) from files, Python objects or datasets.

Every source becomes a :class:`TextDataset`, checked on load: a malformed row is an error naming the
file, line and column, never a silent skip; class-label strings are mapped to ids (the mapping travels with
the dataset and is saved with the model); scores can be checked against a range and scaled to [0, 1].
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .._errors import InputError
from .._io.files import read_rows

LABEL_COLUMNS = ("label", "score")  # taken as the label when no label column is named


@dataclass
class TextDataset:
    """Aligned text columns plus an optional label array (class ids, scores or teacher embeddings).

    A column may hold a list of texts per row (a query's documents) with an object array of label lists,
    the data of listwise cross-encoder losses (LambdaLoss).

    ``label_names[i]`` is the class of id ``i`` when the labels were strings.
    """

    columns: dict[str, list[str]]
    labels: np.ndarray | None = None
    name: str = "dataset"
    label_names: list[str] | None = None
    source: str | None = field(default=None, repr=False)
    # the datasets.Dataset the texts were read from, if any: its rows are what a data collator gets
    table: Any = field(default=None, repr=False, compare=False)
    # read from a stream (an IterableDataset): the rows of each pass, one pass after another; its batches
    # then take the rows in order, one pass an epoch, as a DataLoader reads a stream
    passes: tuple[int, ...] | None = field(default=None, repr=False, compare=False)
    # the column the labels were read from (the model card names it so): "label" where none was named
    label_column: str = field(default="label", repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.columns:
            raise InputError(f"{self.name}: no text columns.")
        lengths = {len(v) for v in self.columns.values()}
        if len(lengths) != 1:
            raise InputError(
                f"{self.name}: text columns differ in length: "
                f"{ {k: len(v) for k, v in self.columns.items()} }"
            )
        if self.labels is not None and len(self.labels) != len(self):
            raise InputError(f"{self.name}: {len(self.labels)} labels for {len(self)} rows.")
        if len(self) == 0:
            raise InputError(f"{self.name}: the dataset is empty; training needs at least one example.")

    def __len__(self) -> int:
        return len(next(iter(self.columns.values())))

    @property
    def column_names(self) -> list[str]:
        return list(self.columns)

    def texts(self, indices: Sequence[int]) -> list[list[str]]:
        """One list of texts per column for the rows ``indices``."""
        return [[column[i] for i in indices] for column in self.columns.values()]

    @property
    def list_columns(self) -> list[int]:
        """The positions of the columns that hold a list of texts per row (listwise data)."""
        return [i for i, values in enumerate(self.columns.values()) if isinstance(values[0], list)]

    def label_batch(self, rows: Sequence[int], device: Any = None, *, stack: bool = True) -> Any:
        """The labels of ``rows`` as the loss gets them, as sentence-transformers' data collators build them
        with ``torch.tensor`` over the column's values: None without labels; a bool, int64 or float (torch's
        default dtype) tensor as the values are; rows of lists as one ``(B, k)`` tensor where ``stack`` (a
        CrossEncoder's collator, ``stack=False``, and rows of unequal lengths: one tensor per row)."""
        if self.labels is None:
            return None
        picked = self.labels[np.asarray(rows, dtype=np.int64)]
        if picked.dtype != object and (stack or picked.ndim == 1):
            return _label_tensor(picked, device)
        return [_label_tensor(np.asarray(row), device) for row in picked]  # one per row, lengths may differ

    def label_mapping(self) -> dict[str, int] | None:
        return None if self.label_names is None else {name: i for i, name in enumerate(self.label_names)}


def _label_tensor(values: np.ndarray, device: Any) -> Any:
    """``values`` as ``torch.tensor`` makes a tensor of their Python values (float64 becomes the default
    float dtype), on ``device``."""
    import torch

    if values.dtype.kind == "f":
        dtype = torch.get_default_dtype()
    else:
        dtype = torch.bool if values.dtype.kind == "b" else torch.int64
    return torch.as_tensor(values, dtype=dtype, device=device)


def load_dataset(
    source: Any,
    *,
    columns: Sequence[str] | None = None,
    label: str | None = None,
    label_names: Sequence[str] | Mapping[str, int] | None = None,
    score_range: tuple[float, float] | None = None,
    label_values: Any = None,
    name: str | None = None,
    limit: int | None = None,
) -> TextDataset:
    """Load training or evaluation data.

    Args:
        source: a ``.tsv`` (unquoted), ``.csv``, ``.jsonl`` or ``.parquet`` file with named columns; a list of
            tuples ``(text, text, ..., [label])`` (a last item that is not a string is the label); a list of
            dicts; a dict of lists; or a ``datasets.Dataset``.
        columns: the text columns, in order (default: every column but the label).
        label: the label column (default: ``"label"`` or ``"score"`` if there is one; ``""`` for none).
        label_names: the classes, in id order (or a name → id mapping), for string labels; a label outside it
            is an error. Default: the sorted distinct labels.
        score_range: ``(low, high)``: every label must lie in it, and is scaled to [0, 1] (STSb: ``(0, 5)``).
        label_values: labels given as an array instead of a column, e.g. a teacher's embeddings.
        name: how errors and the model card name the data (default: the file name).
        limit: keep only the first ``limit`` rows.
    """
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        rows, where = read_rows(path), str(path)
        name = name or path.stem
    elif _is_hf_dataset(source):
        rows, where = ((i + 1, dict(r)) for i, r in enumerate(source)), "datasets.Dataset"
        name = name or "dataset"
    elif isinstance(source, Mapping):
        rows, where = _rows_from_dict(source), "dict"
        name = name or "dataset"
    elif isinstance(source, Sequence) and not isinstance(source, (str, bytes)):
        rows, where = _rows_from_list(source), "list"
        name = name or "dataset"
    else:
        raise InputError(
            f"Cannot load training data from {type(source).__name__}; "
            "pass a file path, list, dict or datasets.Dataset."
        )
    return _build(rows, where, name, columns, label, label_names, score_range, label_values, limit)


# ------------------------------------------------------------------ building and checking


def _build(
    rows: Iterable[tuple[int, dict[str, Any]]],
    where: str,
    name: str,
    columns: Sequence[str] | None,
    label: str | None,
    label_names: Sequence[str] | Mapping[str, int] | None,
    score_range: tuple[float, float] | None,
    label_values: Any,
    limit: int | None,
) -> TextDataset:
    text_columns: list[str] | None = list(columns) if columns is not None else None
    data: dict[str, list[str]] = {}
    raw_labels: list[Any] = []
    lines: list[int] = []
    for line, row in rows:
        if limit is not None and len(lines) >= limit:
            break
        if text_columns is None or not data:
            label = _choose_label(row, label, label_values, text_columns)
            if text_columns is None:
                text_columns = [c for c in row if c != label]
            for column in [*text_columns, *([label] if label else [])]:
                if column not in row:
                    raise InputError(
                        f"{where}:{line}: no column {column!r} (columns: {', '.join(map(repr, row))})."
                    )
            data = {c: [] for c in text_columns}
        for column in text_columns:
            if column not in row:
                raise InputError(f"{where}:{line}: column {column!r} is missing from this row.")
            data[column].append(_text(row[column], f"{where}:{line}: column {column!r}"))
        if label:
            if label not in row or row[label] is None or row[label] == "":
                raise InputError(f"{where}:{line}: column {label!r} (the label) is empty.")
            raw_labels.append(row[label])
        lines.append(line)
    if not lines:
        raise InputError(f"{where}: the dataset is empty; training needs at least one example.")
    labels, names = None, None
    if label:
        labels, names = _parse_labels(raw_labels, lines, where, label, label_names, score_range)
    elif label_values is not None:
        labels = np.asarray(label_values)
        if len(labels) < len(lines):
            raise InputError(f"{where}: label_values has {len(labels)} rows for {len(lines)} examples.")
        labels = labels[: len(lines)]
        if score_range is not None:
            labels = _scale(labels.astype(np.float64), lines, where, "label_values", score_range)
    return TextDataset(
        data, labels, name=name, label_names=names, source=where, label_column=label or "label"
    )


def _text(value: Any, where: str) -> str | list[str]:
    """A text, or a non-empty list of texts (a query's documents, for listwise losses)."""
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, str) for v in value):
        return list(value)
    if not isinstance(value, str):
        kind = "empty (null)" if value is None else f"a {type(value).__name__}"
        raise InputError(f"{where} is {kind}, expected text (or a non-empty list of texts).")
    return value


def _choose_label(
    row: dict[str, Any], label: str | None, label_values: Any, text_columns: list[str] | None
) -> str | None:
    if label is not None:
        return label or None
    if label_values is not None:
        return None
    for candidate in LABEL_COLUMNS:
        if candidate in row and (text_columns is None or candidate not in text_columns):
            return candidate
    return None


def _parse_labels(
    raw: list[Any],
    lines: list[int],
    where: str,
    column: str,
    label_names: Sequence[str] | Mapping[str, int] | None,
    score_range: tuple[float, float] | None,
) -> tuple[np.ndarray, list[str] | None]:
    if any(isinstance(v, (list, tuple, np.ndarray)) for v in raw):
        return _list_labels(raw, lines, where, column), None
    numbers = [_number(v) for v in raw]
    # Text labels (none of them a number) are classes; a "score" column or a score_range needs numbers.
    if label_names is None and score_range is None and column != "score" and all(n is None for n in numbers):
        label_names = sorted(set(map(str, raw)))
    if label_names is not None:
        mapping = (
            dict(label_names)
            if isinstance(label_names, Mapping)
            else {str(n): i for i, n in enumerate(label_names)}
        )
        ids = []
        for value, line in zip(raw, lines):
            if str(value) not in mapping:
                raise InputError(
                    f"{where}:{line}: column {column!r}: unknown label {value!r}; "
                    f"the known labels are {sorted(mapping)}."
                )
            ids.append(mapping[str(value)])
        names = [n for n, _ in sorted(mapping.items(), key=lambda item: item[1])]
        return np.asarray(ids, dtype=np.int64), names
    for value, number, line in zip(raw, numbers, lines):
        if number is None:
            raise InputError(f"{where}:{line}: column {column!r}: {value!r} is not a number.")
    if score_range is not None:
        return _scale(np.asarray(numbers, dtype=np.float64), lines, where, column, score_range), None
    return np.asarray(numbers, dtype=_number_type(raw, numbers)), None


def _number_type(raw: list[Any], numbers: list[float]) -> type:
    """The dtype ``torch.tensor`` gives these values (sentence-transformers' collator builds its labels so):
    bool for bools, int64 for whole numbers (``"3"`` in a text file counts), else a float."""
    if all(isinstance(v, (bool, np.bool_)) for v in raw):
        return np.bool_
    integral = all(
        float(n).is_integer() and not isinstance(v, (float, np.floating)) and "." not in str(v)
        for v, n in zip(raw, numbers)
    )
    return np.int64 if integral else np.float64


def _list_labels(raw: list[Any], lines: list[int], where: str, column: str) -> np.ndarray:
    """A list of numbers per row (teacher scores or embeddings, the labels of a query's documents): one
    ``(N, k)`` array where every row has ``k``, as ``torch.tensor`` stacks them; else an object array of the
    rows. Each row's dtype as :func:`_number_type` (a float row of whole numbers stays float)."""
    rows = []
    for value, line in zip(raw, lines):
        numbers = [_number(v) for v in value] if isinstance(value, (list, tuple, np.ndarray)) else [None]
        if not numbers or any(n is None for n in numbers):
            raise InputError(
                f"{where}:{line}: column {column!r}: expected a list of numbers, got {value!r:.80}."
            )
        rows.append(np.asarray(numbers, dtype=_number_type(list(value), numbers)))
    if len({len(row) for row in rows}) == 1:
        return np.stack(rows)  # the rows' common dtype, as torch.tensor promotes them
    out = np.empty(len(rows), dtype=object)
    for i, row in enumerate(rows):
        out[i] = row
    return out


def group_by_query(dataset: TextDataset) -> TextDataset:
    """Flat (query, document, label) rows as (query, [documents], [labels]) rows, one per distinct query in
    order of first appearance: the data of listwise losses (LambdaLoss)."""
    query, document = dataset.column_names[:2] if len(dataset.columns) == 2 else (None, None)
    if query is None or dataset.labels is None or dataset.labels.ndim != 1 or dataset.labels.dtype == object:
        raise InputError(
            f"{dataset.name}: grouping by query needs (query, document) columns and one label per row, "
            f"got columns {dataset.column_names}."
        )
    groups: dict[str, list[int]] = {}
    for i, text in enumerate(dataset.columns[query]):
        groups.setdefault(text, []).append(i)
    documents = [[dataset.columns[document][i] for i in rows] for rows in groups.values()]
    labels = np.empty(len(groups), dtype=object)
    for i, rows in enumerate(groups.values()):  # one by one: equal lengths must not become a 2-D array
        labels[i] = dataset.labels[rows].astype(np.float64)
    columns = {query: list(groups), document: documents}
    return TextDataset(  # type: ignore[arg-type]
        columns, labels, name=dataset.name, source=dataset.source, label_column=dataset.label_column
    )


def _scale(
    labels: np.ndarray, lines: list[int], where: str, column: str, score_range: tuple[float, float]
) -> np.ndarray:
    low, high = map(float, score_range)
    if not high > low:
        raise InputError(f"score_range must be (low, high) with high > low, got {score_range!r}")
    outside = np.flatnonzero(~((labels >= low) & (labels <= high)))
    if len(outside):
        i = outside[0]
        raise InputError(
            f"{where}:{lines[i]}: column {column!r}: score {labels[i]:g} is outside [{low:g}, {high:g}] "
            f"({len(outside)} such rows)."
        )
    return (labels - low) / (high - low)


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float, np.integer, np.floating)):
        return float(value)
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if np.isfinite(number) else None


# ------------------------------------------------------------------ Python sources → (line, row dict)
# Files are read by sbert._io.files.read_rows.


def _rows_from_list(items: Sequence[Any]) -> Iterator[tuple[int, dict[str, Any]]]:
    for i, item in enumerate(items):
        if isinstance(item, Mapping):
            yield i + 1, dict(item)
        elif isinstance(item, (tuple, list)):
            values = list(item)
            row = {f"text{j}": v for j, v in enumerate(values)}
            if values and not isinstance(values[-1], str) and values[-1] is not None:
                row = {f"text{j}": v for j, v in enumerate(values[:-1])}
                row["label"] = values[-1]
            yield i + 1, row
        else:
            raise InputError(
                f"list item {i}: expected a tuple of texts (and a label) or a dict, "
                f"got {type(item).__name__}."
            )


def _rows_from_dict(columns: Mapping[str, Sequence[Any]]) -> Iterator[tuple[int, dict[str, Any]]]:
    lengths = {k: len(v) for k, v in columns.items()}
    if len(set(lengths.values())) > 1:
        raise InputError(f"dict: columns differ in length: {lengths}")
    for i in range(next(iter(lengths.values()), 0)):
        yield i + 1, {k: v[i] for k, v in columns.items()}


def _is_hf_dataset(source: Any) -> bool:
    return type(source).__module__.startswith("datasets.") and hasattr(source, "column_names")
