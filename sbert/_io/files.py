"""The one reader and writer of data files: texts and rows in, embeddings and JSON lines out.

Inputs: plain text (one text per line), JSON lines (.jsonl/.ndjson), .csv, .tsv (unquoted) and .parquet.
Every malformed input is an :class:`~sbert.InputError` that names the file and line (``FILE:LINE: ...``).
Outputs (.npy, .parquet, .jsonl) are written atomically; without a path, JSON lines go to stdout.
Used by ``sbert encode``, ``cluster``, ``index``, ``eval``, the training data loader and the Ray input.
"""

from __future__ import annotations

import csv
import functools
import io
import json
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from .._errors import InputError, missing_extra
from .atomic import atomic_write_bytes, check_parent

TEXT_COLUMN = "text"  # the column or field of the texts when none is named
TABLE_TYPES = (".tsv", ".csv", ".jsonl", ".ndjson", ".parquet")  # files with named columns
_JSON_LINES = (".jsonl", ".ndjson")
Records = Iterator[tuple[int, Any]]  # (line, record); a parquet "line" is the 1-based row number


class _Table(NamedTuple):
    header: list[str] | None  # the column names, when the file declares them up front (not JSON lines)
    records: Records


# ---------------------------------------------------------------------------------------------- reading


def display_name(path: str | os.PathLike) -> str:
    """How messages name a file (``-`` is stdin)."""
    return "<stdin>" if str(path) == "-" else str(path)


def load_text(path: str | os.PathLike) -> str:
    """The file (or stdin for ``-``) decoded as UTF-8, a byte-order mark dropped."""
    data = sys.stdin.buffer.read() if str(path) == "-" else Path(path).read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise InputError(
            f"{display_name(path)}:{line}: not valid UTF-8 (byte {data[e.start]:#04x}); save it as UTF-8."
        ) from None


def read_lines(text: str) -> list[str]:
    """Plain text, one text per line: an empty line is an empty text, a final newline ends the last one."""
    if not text:
        return []  # an empty file holds no texts; a file holding just a newline holds one empty text
    text = text.removesuffix("\n")  # the newline that ends the last line does not start another text
    return [line.removesuffix("\r") for line in text.split("\n")]


def read_rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(line, row)`` pairs of a .tsv/.csv/.jsonl/.parquet file with named columns (parquet: row number).

    The file type and existence are checked now, the rows as they are read.
    """
    suffix = path.suffix.lower()
    if suffix not in TABLE_TYPES:
        raise InputError(f"{path}: unknown file type {suffix!r}; use one of {', '.join(TABLE_TYPES)}.")
    if not path.is_file():
        raise InputError(f"{path}: no such file.")
    return _objects(path, _open_table(path, suffix).records)


def _objects(path: Path, records: Records) -> Iterator[tuple[int, dict[str, Any]]]:
    for line, record in records:
        if not isinstance(record, dict):
            raise InputError(
                f"{path}:{line}: expected a JSON object with named columns, got {type(record).__name__}."
            )
        yield line, record


def read_texts(
    path: str, column: str | None = None, id_column: str | None = None
) -> tuple[list[str], list[str] | None]:
    """Texts (and ids, with ``id_column``) of a file: a column of a table, else one text per line.

    In JSON lines a line that is a JSON string is the text itself. Ids are strings or integers, as text.
    """
    suffix = "" if path == "-" else Path(path).suffix.lower()
    if suffix == ".json":  # one JSON document: read as lines, its raw text would become the texts
        raise InputError(
            f"{path}: a .json file is one JSON document, not a list of texts; write one JSON object per "
            "line to a .jsonl file (the text in the field --column names, default 'text'), or one text per "
            "line to a .txt file."
        )
    if suffix not in TABLE_TYPES:
        for option, name in (("--column", column), ("--id-column", id_column)):
            if name is not None:
                raise InputError(
                    f"{option} applies to .jsonl, .csv, .tsv and .parquet files, not to {display_name(path)}."
                )
        return read_lines(load_text(path)), None
    table = _open_table(Path(path), suffix)
    column = column or TEXT_COLUMN
    _check_header(path, table.header, column, "--column")
    if id_column is not None:
        _check_header(path, table.header, id_column, "--id-column")
    texts: list[str] = []
    ids: list[str] = []
    for line, record in table.records:
        texts.append(_text(path, line, record, column))
        if id_column is not None:
            ids.append(_id(path, line, record, id_column))
    return texts, ids if id_column is not None else None


def read_vectors(path: str) -> np.ndarray:
    """The ``(n, d)`` embeddings of a .npy file (never unpickled): InputError for another file, an array of
    another shape or type, or NaN / infinite values."""
    try:
        array = np.load(path, allow_pickle=False)
    except (ValueError, EOFError):  # not an .npy file, a truncated one, or pickled objects
        raise InputError(
            f"{path}: not a .npy array of numbers; save embeddings with numpy.save (or sbert encode -o "
            "FILE.npy)."
        ) from None
    if array.ndim != 2 or not np.issubdtype(array.dtype, np.number):
        raise InputError(
            f"{path}: expected a 2-D array of embeddings (one row per text), got shape {array.shape} of "
            f"{array.dtype}."
        )
    bad = np.flatnonzero(~np.isfinite(array).all(axis=1))
    if bad.size:
        raise InputError(f"{path}: row {bad[0]} (of {bad.size} such rows) holds NaN or infinite values.")
    return array


def _check_header(path: str, header: list[str] | None, column: str, option: str) -> None:
    if header is not None and column not in header:
        names = ", ".join(map(repr, header))
        raise InputError(
            f"{path}:1: no column {column!r} in the header (columns: {names}); choose one with {option}."
        )


def _text(path: str, line: int, record: Any, column: str) -> str:
    where = "the line"
    if isinstance(record, dict):
        if column not in record:
            fields = ", ".join(map(repr, record)) or "none"
            raise InputError(
                f"{path}:{line}: no field {column!r} in this object (fields: {fields}); "
                "choose one with --column."
            )
        record, where = record[column], f"field {column!r}"
    if not isinstance(record, str):
        kind = "null" if record is None else type(record).__name__
        raise InputError(f"{path}:{line}: {where} is {kind}, expected a string or an object.")
    return record


def _id(path: str, line: int, record: Any, column: str) -> str:
    value = record.get(column) if isinstance(record, dict) else None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise InputError(f"{path}:{line}: field {column!r} must be a string or an integer id.")
    return str(value)


def _open_table(path: Path, suffix: str) -> _Table:
    if suffix == ".parquet":
        return _parquet(path)
    text = load_text(path)
    if suffix in _JSON_LINES:
        return _Table(None, _json_lines(path, text))
    if suffix == ".tsv":
        rows = csv.reader(io.StringIO(text, newline=""), delimiter="\t", quoting=csv.QUOTE_NONE)
        return _delimited(path, rows, None)
    # strict: a quote left open at the end of the file is an error, not a field swallowing the rest
    return _delimited(path, csv.reader(io.StringIO(text, newline=""), strict=True), text)


def _json_lines(path: Path, text: str) -> Records:
    for line, raw in enumerate(text.split("\n"), start=1):
        if not raw.strip():
            continue  # blank lines are skipped
        try:
            record = json.loads(raw)
        except json.JSONDecodeError as e:
            raise InputError(f"{path}:{line}: invalid JSON ({e.msg} at column {e.colno}).") from None
        yield line, record


def _delimited(path: Path, rows: Any, quoted_text: str | None) -> _Table:
    """The header of a csv reader now (an empty file is an error), its rows as dicts when iterated.

    ``quoted_text`` is the text of a .csv file (quotes apply), ``None`` for a .tsv.
    """
    try:
        header = next(rows, None)
    except csv.Error as e:
        raise _csv_error(path, 1, e, quoted_text) from None
    if not header:
        raise InputError(f"{path}: the file is empty; expected a header row naming the columns.")
    return _Table(header, _delimited_rows(path, header, rows, quoted_text))


def _csv_error(path: Path, line: int, error: csv.Error, quoted_text: str | None) -> InputError:
    """The error for the record that starts at ``line``, naming where an unclosed quote opened."""
    opened = None if quoted_text is None else _unclosed_quote(quoted_text, line)
    if opened is not None:
        return InputError(
            f"{path}:{opened}: a quoted field opened here is never closed (the file ends inside it); "
            'close it with " (write a quote inside a quoted field as "").'
        )
    return InputError(f"{path}:{line}: {error}.")


def _unclosed_quote(text: str, start: int) -> int | None:
    """The line of the quote that opens a field still open at the end of ``text`` (CSV quoting: a quote
    opens a field only at its start, ``""`` inside is a quote), reading from the record at line ``start``."""
    quoted, field_start, opened = False, True, None
    lines = io.StringIO(text, newline="").readlines()  # the lines the csv reader counts
    for number, raw in enumerate(lines[start - 1 :], start=start):
        i = 0
        while i < len(raw):
            char = raw[i]
            if quoted and char == '"':
                quoted = raw[i + 1 : i + 2] == '"'  # "" stays inside the field
                i += 2 if quoted else 1
                continue
            if not quoted and char == '"' and field_start:
                quoted, opened = True, number
            field_start = not quoted and char in ",\r\n"
            i += 1
    return opened if quoted else None


def _delimited_rows(path: Path, header: list[str], rows: Any, quoted_text: str | None) -> Records:
    line = rows.line_num + 1  # physical line where the current record starts (a quoted field may span lines)
    try:
        for row in rows:
            if row and len(row) != len(header):
                raise InputError(
                    f"{path}:{line}: the row has {len(row)} fields but the header has {len(header)} "
                    f"({', '.join(header)})."
                )
            if row:  # csv gives [] for a blank line
                yield line, dict(zip(header, row))
            line = rows.line_num + 1
    except csv.Error as e:
        raise _csv_error(path, line, e, quoted_text) from None


def _parquet(path: Path) -> _Table:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise missing_extra("pyarrow", "parquet") from None
    table = pq.read_table(path)
    return _Table(table.column_names, enumerate(table.to_pylist(), start=1))


# ---------------------------------------------------------------------------------------------- writing

EmbeddingsWriter = Callable[[list[str], np.ndarray], None]


def embeddings_writer(output: str | None) -> EmbeddingsWriter:
    """The writer of ``(texts, embeddings (n, d))`` to ``output`` (by extension; ``None``: stdout).

    Checks the output now, before any work: a wrong extension, a folder, a missing parent folder, or parquet
    without pyarrow.
    """
    if output is None:
        return _write_stdout
    suffix = Path(output).suffix.lower()
    if suffix not in _WRITERS:
        raise InputError(
            f"cannot write {output!r}: the output extension must be one of {', '.join(_WRITERS)}."
        )
    if suffix == ".parquet":
        try:
            import pyarrow.parquet  # noqa: F401
        except ImportError:
            raise missing_extra("pyarrow", "parquet") from None
    if Path(output).is_dir():
        raise InputError(f"cannot write {output!r}: it is a folder.")
    check_parent(output)  # a missing folder is an error now, before the model loads
    return functools.partial(_WRITERS[suffix], output)


def write_json_lines(path: str | None, records: Iterable[dict[str, Any]]) -> None:
    """One JSON object per line, to ``path`` atomically (UTF-8) or, for ``None``, to stdout.

    Stdout gets ASCII-only JSON: safe whatever encoding the terminal or pipe uses.
    """
    lines = (json.dumps(record, ensure_ascii=path is None) + "\n" for record in records)
    if path is not None:
        atomic_write_bytes(path, "".join(lines).encode("utf-8"))
        return
    for line in lines:
        sys.stdout.write(line)
    sys.stdout.flush()


def write_table(path: str, columns: dict[str, list[Any]]) -> None:
    """The columns as JSON lines, or a table with a header (.tsv unquoted: a tab in a text is an error)."""
    rows = [dict(zip(columns, values)) for values in zip(*columns.values())]
    if path.lower().endswith(".jsonl"):
        write_json_lines(path, rows)
        return
    tsv = path.lower().endswith(".tsv")
    buffer = io.StringIO(newline="")
    dialect: dict[str, Any] = {"delimiter": "\t", "quoting": csv.QUOTE_NONE, "quotechar": None} if tsv else {}
    writer = csv.writer(buffer, lineterminator="\n", **dialect)
    writer.writerow(list(columns))
    for line, row in enumerate(rows, start=2):
        values = [str(v) for v in row.values()]
        if tsv and any(("\t" in v or "\n" in v or "\r" in v) for v in values):
            raise InputError(
                f"{path}:{line}: a text holds a tab or a line break; write .csv or .jsonl instead."
            )
        writer.writerow(values)
    atomic_write_bytes(path, buffer.getvalue().encode("utf-8"))


def _embedding_records(texts: list[str], embeddings: np.ndarray) -> Iterator[dict[str, Any]]:
    # tolist() gives each float32 as the float64 holding exactly its value: reading it back is lossless.
    for text, vector in zip(texts, embeddings):
        yield {"text": text, "embedding": vector.tolist()}


def _write_npy(path: str, texts: list[str], embeddings: np.ndarray) -> None:
    buffer = io.BytesIO()
    np.save(buffer, embeddings, allow_pickle=False)
    atomic_write_bytes(path, buffer.getvalue(), durable=False)  # an output, made again by running again


def _write_parquet(path: str, texts: list[str], embeddings: np.ndarray) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    n, d = embeddings.shape
    offsets = pa.array(np.arange(n + 1, dtype=np.int32) * d)  # row i is values[offsets[i]:offsets[i + 1]]
    vectors = pa.ListArray.from_arrays(offsets, pa.array(embeddings.reshape(-1), type=pa.float32()))
    table = pa.table({"text": pa.array(texts, type=pa.string()), "embedding": vectors})
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    atomic_write_bytes(path, sink.getvalue().to_pybytes(), durable=False)


def _write_jsonl(path: str, texts: list[str], embeddings: np.ndarray) -> None:
    write_json_lines(path, _embedding_records(texts, embeddings))


def _write_stdout(texts: list[str], embeddings: np.ndarray) -> None:
    write_json_lines(None, _embedding_records(texts, embeddings))


# Output writers by file extension.
_WRITERS: dict[str, Callable[[str, list[str], np.ndarray], None]] = {
    ".npy": _write_npy,
    ".parquet": _write_parquet,
    ".jsonl": _write_jsonl,
}
