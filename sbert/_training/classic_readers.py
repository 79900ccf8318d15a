"""sentence-transformers' classic dataset readers (``sentence_transformers.readers``): the file formats its
v2 training scripts read into ``InputExample`` lists for ``model.fit``. Each gives the examples, guids and
labels sentence-transformers' reader gives for the same file (lines keep what its reader keeps, the NLI and
paired-file readers their line ends included), and names the file and line of a row it cannot read.
"""

from __future__ import annotations

import csv
import gzip
import os
from collections.abc import Iterable, Iterator, Sequence
from typing import IO, Any

from .._errors import InputError
from .fit_inputs import InputExample


def _open(path: str | os.PathLike) -> IO[str]:
    """A text file, gunzipped on the fly when its name ends in ``.gz``."""
    if str(path).endswith(".gz"):
        return gzip.open(path, "rt", encoding="utf-8")
    return open(path, encoding="utf-8")


def _cells(row: Sequence[str], columns: Iterable[int], path: Any, line: int) -> list[str]:
    try:
        return [row[i] for i in columns]
    except IndexError:
        raise InputError(
            f"{path}, line {line + 1}: {len(row)} columns, but the reader reads columns {list(columns)}; "
            "pass the column indexes of this file (and its delimiter)."
        ) from None


def _take(examples: Iterator[InputExample], max_examples: int) -> list[InputExample]:
    """The examples, the first ``max_examples`` of them when that is positive."""
    taken = []
    for example in examples:
        taken.append(example)
        if 0 < max_examples <= len(taken):
            break
    return taken


class STSDataReader:
    """Sentence pairs with a similarity score per row of a delimited file; scores scaled from
    ``[min_score, max_score]`` to ``[0, 1]`` unless ``normalize_scores=False``."""

    def __init__(
        self,
        dataset_folder: str,
        s1_col_idx: int = 0,
        s2_col_idx: int = 1,
        score_col_idx: int = 2,
        delimiter: str = "\t",
        quoting: int = csv.QUOTE_NONE,
        normalize_scores: bool = True,
        min_score: float = 0,
        max_score: float = 5,
    ) -> None:
        self.dataset_folder = dataset_folder
        self.s1_col_idx, self.s2_col_idx, self.score_col_idx = s1_col_idx, s2_col_idx, score_col_idx
        self.delimiter, self.quoting = delimiter, quoting
        self.normalize_scores, self.min_score, self.max_score = normalize_scores, min_score, max_score

    def get_examples(self, filename: str, max_examples: int = 0) -> list[InputExample]:
        path = os.path.join(self.dataset_folder, filename)
        columns = (self.s1_col_idx, self.s2_col_idx, self.score_col_idx)
        with _open(path) as file:
            rows = enumerate(csv.reader(file, delimiter=self.delimiter, quoting=self.quoting))
            return _take(
                (self._example(filename, i, _cells(row, columns, path, i)) for i, row in rows), max_examples
            )

    def _example(self, filename: str, index: int, cells: list[str]) -> InputExample:
        score = float(cells[2])
        if self.normalize_scores:
            score = (score - self.min_score) / (self.max_score - self.min_score)
        return InputExample(guid=f"{filename}{index}", texts=cells[:2], label=score)


class STSBenchmarkDataReader(STSDataReader):
    """The STS benchmark's own files: sentences in columns 5 and 6, the 0-5 score in column 4."""

    def __init__(
        self,
        dataset_folder: str,
        s1_col_idx: int = 5,
        s2_col_idx: int = 6,
        score_col_idx: int = 4,
        **options: Any,
    ) -> None:
        super().__init__(dataset_folder, s1_col_idx, s2_col_idx, score_col_idx, **options)


class NLIDataReader:
    """SNLI / MultiNLI as three gzipped files per split (``s1.<split>.gz``, ``s2.<split>.gz``,
    ``labels.<split>.gz``); labels contradiction 0, entailment 1, neutral 2."""

    def __init__(self, dataset_folder: str) -> None:
        self.dataset_folder = dataset_folder

    def get_examples(self, filename: str, max_examples: int = 0) -> list[InputExample]:
        parts = {}
        for part in ("s1", "s2", "labels"):
            with gzip.open(
                os.path.join(self.dataset_folder, f"{part}.{filename}"), "rt", encoding="utf-8"
            ) as f:
                parts[part] = f.readlines()
        rows = zip(parts["s1"], parts["s2"], parts["labels"])
        examples = (
            InputExample(guid=f"{filename}-{i}", texts=[a, b], label=self.map_label(label))
            for i, (a, b, label) in enumerate(rows)
        )
        return _take(examples, max_examples)

    @staticmethod
    def get_labels() -> dict[str, int]:
        return {"contradiction": 0, "entailment": 1, "neutral": 2}

    def get_num_labels(self) -> int:
        return len(self.get_labels())

    def map_label(self, label: str) -> int:
        name = label.strip().lower()
        if name not in self.get_labels():
            raise InputError(f"NLI label {label.strip()!r} is not one of {sorted(self.get_labels())}.")
        return self.get_labels()[name]


class LabelSentenceReader:
    """A label and a sentence per line (e.g. for BatchHardTripletLoss); labels numbered in order of first
    appearance, the numbering kept across calls in ``label_map``."""

    def __init__(
        self, folder: str, label_col_idx: int = 0, sentence_col_idx: int = 1, separator: str = "\t"
    ) -> None:
        self.folder = folder
        self.label_map: dict[str, int] = {}
        self.label_col_idx, self.sentence_col_idx, self.separator = label_col_idx, sentence_col_idx, separator

    def get_examples(self, filename: str, max_examples: int = 0) -> list[InputExample]:
        path = os.path.join(self.folder, filename)
        columns = (self.label_col_idx, self.sentence_col_idx)
        with open(path, encoding="utf-8") as file:
            rows = (
                _cells(line.strip().split(self.separator), columns, path, i) for i, line in enumerate(file)
            )
            return _take((self._example(filename, i, cells) for i, cells in enumerate(rows)), max_examples)

    def _example(self, filename: str, index: int, cells: list[str]) -> InputExample:
        label_id = self.label_map.setdefault(cells[0], len(self.label_map))
        return InputExample(guid=f"{filename}-{index}", texts=[cells[1]], label=label_id)


class PairedFilesReader:
    """Parallel files, one text per line each (e.g. a sentence and its translation): line ``i`` of every
    file makes example ``i``, label 1, until the shortest file ends."""

    def __init__(self, filepaths: Sequence[str]) -> None:
        self.filepaths = filepaths

    def get_examples(self, max_examples: int = 0) -> list[InputExample]:
        files = [_open(path) for path in self.filepaths]
        try:
            lines = zip(*(iter(file.readline, "") for file in files))
            examples = (
                InputExample(guid=str(i), texts=list(texts), label=1) for i, texts in enumerate(lines)
            )
            return _take(examples, max_examples)
        finally:
            for file in files:
                file.close()


class TripletReader:
    """An anchor, a positive and a negative text per row of a delimited file."""

    def __init__(
        self,
        dataset_folder: str,
        s1_col_idx: int = 0,
        s2_col_idx: int = 1,
        s3_col_idx: int = 2,
        has_header: bool = False,
        delimiter: str = "\t",
        quoting: int = csv.QUOTE_NONE,
    ) -> None:
        self.dataset_folder = dataset_folder
        self.s1_col_idx, self.s2_col_idx, self.s3_col_idx = s1_col_idx, s2_col_idx, s3_col_idx
        self.has_header, self.delimiter, self.quoting = has_header, delimiter, quoting

    def get_examples(self, filename: str, max_examples: int = 0) -> list[InputExample]:
        path = os.path.join(self.dataset_folder, filename)
        columns = (self.s1_col_idx, self.s2_col_idx, self.s3_col_idx)
        with open(path, encoding="utf-8") as file:
            rows = csv.reader(file, delimiter=self.delimiter, quoting=self.quoting)
            if self.has_header:
                next(rows, None)
            examples = (InputExample(texts=_cells(row, columns, path, i)) for i, row in enumerate(rows))
            return _take(examples, max_examples)
