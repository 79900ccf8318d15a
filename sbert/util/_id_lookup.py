"""Join ID columns to their texts: :func:`resolve_ids` builds the batched transform sentence-transformers'
``util.resolve_ids`` builds, for ``train.set_transform(...)`` or ``train.map(..., batched=True)``::

    train.set_transform(resolve_ids({"query_id": queries, "document_ids": documents}, max_list_length=8))
    # rows: {"query": str, "document_1": str, ..., "document_8": str, "scores": list[float]}

Same output columns, values and errors as there (its ``ValueError`` s are :class:`~sbert.InputError` here,
a subclass); an ID missing from its lookup raises ``KeyError`` when the batch is read, as there. The lookup
is a dict ``id -> row`` where sentence-transformers keeps sorted arrays for memory: the same rows come back.
"""

from __future__ import annotations

import ast
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, Literal

import numpy as np

from .._errors import InputError

logger = logging.getLogger(__name__)

# The label columns sentence-transformers' data collators pass through by default.
DEFAULT_LABEL_COLUMNS: tuple[str, ...] = ("label", "labels", "score", "scores")
_FORMAT_HINT = "Call dataset.with_format(None) before applying the transform."


@dataclass(frozen=True)
class _Index:
    """``id -> row``; ``kind``: the numpy kind (``"i"``, ``"U"``, ...) of ids of one plain type, which
    sentence-transformers keeps in a sorted array: a batch of ids of another kind misses at its first id."""

    rows: dict[Any, int]
    kind: str | None


@dataclass(frozen=True)
class _Join:
    """How one input column is resolved: the lookup's value column, its id -> row index, output names."""

    values: Any  # the lookup dataset reduced to its value column
    rows: _Index
    value_col: str
    name: str  # "query_id" -> "query"
    plural: str  # "document_ids" -> "documents" (output_format="lists")


def resolve_ids(
    lookups: Mapping[str, Any],
    keep_columns: Sequence[str] = DEFAULT_LABEL_COLUMNS,
    max_list_length: int | None = None,
    output_format: Literal["columns", "lists"] = "columns",
) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """A batched transform replacing ID columns by their values from lookup ``datasets.Dataset`` s.

    ``lookups`` maps each input column to a ``Dataset`` (its ID column, the single one named ``id`` or
    ending in ``_id``, and its value column, the single other one, are inferred), ``(dataset, id_col)`` or
    ``(dataset, id_col, value_col)``. A column holds one ID per row (``query_id`` -> ``query``) or a list
    (``document_ids`` -> ``document_1``, ... with ``output_format="columns"``, ``documents`` with
    ``"lists"``). Other columns are dropped except ``keep_columns`` (the labels by default);
    ``max_list_length`` keeps the first N of every list. Picklable, so DataLoader workers can carry it.
    """
    try:
        import datasets  # noqa: F401
    except ImportError as e:
        raise ImportError(
            "resolve_ids requires the `datasets` library. Install it with `pip install datasets`."
        ) from e
    if isinstance(keep_columns, str):
        raise TypeError(
            f"keep_columns must be a list or tuple of column names, got the string {keep_columns!r}."
        )
    if max_list_length is not None and max_list_length < 1:
        raise InputError(f"max_list_length must be a positive integer or None, got {max_list_length}.")
    if output_format not in ("columns", "lists"):
        raise InputError(f'output_format must be "columns" or "lists", got {output_format!r}.')
    indexes: dict[tuple[int, str], _Index] = {}  # shared by columns joining one dataset's ids
    joins = {column: _join(column, spec, indexes) for column, spec in lookups.items()}
    return partial(
        _resolve_batch,
        joins=joins,
        keep_columns=tuple(keep_columns),
        max_list_length=max_list_length,
        output_format=output_format,
    )


def _join(column: str, spec: Any, indexes: dict[tuple[int, str], _Index]) -> _Join:
    from datasets import Dataset, DatasetDict

    dataset, id_col, value_col = _unpack(column, spec)
    if isinstance(dataset, DatasetDict):
        raise TypeError(
            f"lookups[{column!r}] holds a `DatasetDict`, expected a `Dataset`. Pass a specific "
            "split (e.g. `dataset_dict['train']`), or load with `load_dataset(..., split='...')`."
        )
    if not isinstance(dataset, Dataset):
        raise TypeError(f"lookups[{column!r}] must hold a `Dataset`, got {type(dataset).__name__}.")
    key = id(dataset)  # the caller's object: with_format makes a new one each time
    dataset = dataset.with_format(None)  # plain Python ids and values, whatever format the caller set
    names = dataset.column_names
    id_col = _id_column(column, names) if id_col is None else _check_column(column, "ID", id_col, names)
    if value_col is None:
        value_col = _value_column(column, names, id_col)
    else:
        value_col = _check_column(column, "value", value_col, names)
    if (key, id_col) not in indexes:
        indexes[key, id_col] = _index(column, dataset, id_col)
    return _Join(
        dataset.select_columns([value_col]),
        indexes[key, id_col],
        value_col,
        _output_name(column, plural=False),
        _output_name(column, plural=True),
    )


def _unpack(column: str, spec: Any) -> tuple[Any, str | None, str | None]:
    if not isinstance(spec, tuple):
        return spec, None, None
    if len(spec) not in (2, 3):
        raise InputError(
            f"lookups[{column!r}] must be a Dataset, (dataset, id_col), or "
            f"(dataset, id_col, value_col), got a tuple of length {len(spec)}."
        )
    return spec[0], spec[1], spec[2] if len(spec) == 3 else None


def _id_column(column: str, names: list[str]) -> str:
    found = [c for c in names if c == "id" or c.endswith("_id")]
    if len(found) != 1:
        raise InputError(
            f"Cannot infer the ID column of lookups[{column!r}]: "
            f"expected exactly one column named 'id' or ending in '_id', found {found or 'none'} "
            f"among {sorted(names)}. Pass an explicit (dataset, id_col) tuple."
        )
    return found[0]


def _value_column(column: str, names: list[str], id_col: str) -> str:
    others = [c for c in names if c != id_col]
    if len(others) != 1:
        raise InputError(
            f"Cannot infer the value column of lookups[{column!r}]: "
            f"expected exactly one column besides {id_col!r}, found {others or 'none'}. "
            f"Pass an explicit (dataset, id_col, value_col) tuple."
        )
    return others[0]


def _check_column(column: str, role: str, name: str, names: list[str]) -> str:
    if name not in names:
        raise InputError(
            f"lookups[{column!r}]: {role} column {name!r} is not a column of the lookup dataset "
            f"(columns: {sorted(names)})."
        )
    return name


def _index(column: str, dataset: Any, id_col: str) -> _Index:
    """``id -> row`` of ``dataset``; a repeated id maps to its last row (with one warning)."""
    ids: list[Any] = []
    for batch in dataset.select_columns([id_col]).iter(batch_size=50_000):  # respects select/shuffle
        ids.extend(batch[id_col])
    try:
        index = {value: row for row, value in enumerate(ids)}
    except TypeError:
        raise InputError(f"lookups[{column!r}]: the IDs of column {id_col!r} are not hashable.") from None
    if len(index) != len(ids):
        logger.warning(
            f"lookups[{column!r}] contains duplicate {id_col!r} values "
            f"({len(ids) - len(index)} rows shadowed). Each duplicated ID resolves to its last occurrence."
        )
    keys = np.asarray(ids)
    plain = keys.ndim == 1 and keys.dtype.kind in "iufUS" and keys.itemsize <= 128
    uint64 = getattr(dataset.features[id_col], "dtype", None) == "uint64"
    return _Index(index, keys.dtype.kind if plain and not uint64 else None)


def _output_name(column: str, plural: bool) -> str:
    """``query_id`` -> ``query``; ``document_ids`` -> ``document`` (numbered later), or ``documents``."""
    endings = (
        {"y_ids": "ies", "_ids": "s", "_id": "", "_idx": ""}
        if plural
        else {"_ids": "", "_id": "", "_idx": ""}
    )
    for ending, replacement in endings.items():
        if column.endswith(ending):
            return column[: -len(ending)] + replacement
    return column


def _resolve_batch(
    batch: Any,
    joins: dict[str, _Join],
    keep_columns: tuple[str, ...],
    max_list_length: int | None,
    output_format: str,
) -> dict[str, Any]:
    """The transform: a batch of ID columns (a dict of lists) as a batch of resolved and kept columns."""
    if not isinstance(batch, Mapping):
        raise TypeError(
            f"resolve_ids expects batches as plain column dicts, got {type(batch).__name__}: the train "
            f"dataset carries a format (e.g. with_format('pandas')). {_FORMAT_HINT}"
        )
    out: dict[str, Any] = {}
    for column, join in joins.items():
        ids = batch[column]
        if not isinstance(ids, list):
            raise TypeError(
                f"Input column {column!r} holds a {type(ids).__name__} rather than a list, which "
                f"means the train dataset carries a format (e.g. with_format('numpy')). {_FORMAT_HINT}"
            )
        ids = _parse_lists(ids, column)
        if not (ids and isinstance(ids[0], (list, tuple))):
            _put(out, join.name, _lookup(list(ids), join, column))
            continue
        ids = _truncate(ids, max_list_length)
        if output_format == "columns":
            _expand(out, ids, join, column)
        else:
            flat, nested, start = _lookup([i for row in ids for i in row], join, column), [], 0
            for row in ids:
                nested.append(flat[start : start + len(row)])
                start += len(row)
            _put(out, join.plural, nested)
    for column in keep_columns:
        if column in batch:
            values = _parse_lists(batch[column], column)
            is_rows = (
                bool(len(values))
                and not isinstance(values[0], (str, bytes))
                and hasattr(values[0], "__len__")
            )
            _put(out, column, _truncate(values, max_list_length) if is_rows else values)
    return out


def _expand(out: dict[str, Any], ids: list[Any], join: _Join, column: str) -> None:
    """List columns as one output column per position (``document_1``, ...): same length on every row."""
    lengths = sorted({len(row) for row in ids})
    if len(lengths) != 1:
        raise InputError(
            f"Rows of input column {column!r} hold lists of differing lengths "
            f"{lengths}. List columns expand into one output column per position, "
            "which requires the same length on every row. Set max_list_length to cap all "
            'rows to a common length, or output_format="lists" to keep nested lists '
            "(the CrossEncoder listwise shape, which allows ragged rows)."
        )
    width = lengths[0]
    if width == 0:
        raise InputError(
            f"Rows of input column {column!r} hold empty ID lists, so there are no "
            "positions to expand into columns. Filter such rows out of the dataset."
        )
    flat = _lookup([i for row in ids for i in row], join, column)  # row-major
    for position in range(width):
        _put(out, f"{join.name}_{position + 1}", flat[position::width])


def _lookup(ids: list[Any], join: _Join, column: str) -> list[Any]:
    """The values of ``ids`` in order; ``KeyError`` naming the first id the lookup lacks."""
    if not ids:
        return []
    try:
        if join.rows.kind is not None and np.asarray(ids).dtype.kind != join.rows.kind:
            raise KeyError(ids[0])  # as sentence-transformers' sorted ids: another kind never matches
        rows = [join.rows.rows[i] for i in ids]
    except TypeError:
        raise TypeError(
            f"IDs from input column {column!r} are not hashable, which typically means the train "
            f"dataset carries a format (e.g. with_format('numpy')). {_FORMAT_HINT}"
        ) from None
    except KeyError as e:
        missing = e.args[0]
        hint = ""
        if isinstance(missing, str) and missing.lstrip().startswith("["):
            hint = " The ID looks like a string-encoded list. Convert the column to native lists first."
        raise KeyError(
            f"ID {missing!r} from input column {column!r} was not found in its lookup dataset.{hint}"
        ) from None
    return join.values[rows][join.value_col]


def _put(out: dict[str, Any], name: str, values: list[Any]) -> None:
    if name in out:
        raise InputError(
            f"Output column {name!r} is produced more than once (e.g. two lookups entries resolving "
            "to the same name, or an expanded list column colliding with another entry). Rename the "
            "input columns to disambiguate."
        )
    out[name] = values


def _truncate(rows: Any, max_list_length: int | None) -> Any:
    return rows if max_list_length is None else [row[:max_list_length] for row in rows]


def _parse_lists(values: Any, column: str) -> Any:
    """A column of string-encoded lists (``"[1, 2]"``, as some distillation datasets store them) as lists."""
    if not (len(values) and isinstance(values[0], str) and values[0].lstrip().startswith("[")):
        return values
    parsed = []
    for text in values:
        try:
            value = ast.literal_eval(text)
        except (ValueError, SyntaxError) as e:
            raise InputError(
                f"Column {column!r} looks like it holds string-encoded lists, but a row failed to "
                f"parse ({e}): {text[:100]!r}"
            ) from None
        if not isinstance(value, (list, tuple)):
            raise InputError(
                f"Column {column!r} looks like it holds string-encoded lists, but a row parsed to "
                f"{type(value).__name__} instead of a list: {text[:100]!r}"
            )
        parsed.append(list(value))
    return parsed
