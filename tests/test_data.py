"""Training data: every source gives the same dataset; bad rows are errors naming file, line and column."""

from __future__ import annotations

import json

import numpy as np
import pytest

import sbert

ROWS = [
    ("A man plays guitar.", "Someone makes music.", "entailment"),
    ("A cat sleeps.", "A dog barks.", "contradiction"),
    ("Kids play.", "Children are outside.", "neutral"),
]


def _write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def _check(ds):
    assert ds.column_names == ["sentence1", "sentence2"]
    assert ds.columns["sentence1"][0] == "A man plays guitar."
    assert ds.label_names == ["contradiction", "entailment", "neutral"]
    assert ds.labels.tolist() == [1, 0, 2]


def test_every_source_loads_the_same(tmp_path):
    header = "sentence1\tsentence2\tlabel\n"
    _check(
        sbert.load_dataset(_write(tmp_path / "d.tsv", header + "".join("\t".join(r) + "\n" for r in ROWS)))
    )
    _check(
        sbert.load_dataset(
            _write(
                tmp_path / "d.csv",
                header.replace("\t", ",") + "".join(",".join(f'"{x}"' for x in r) + "\n" for r in ROWS),
            )
        )
    )
    records = [dict(zip(["sentence1", "sentence2", "label"], r)) for r in ROWS]
    _check(sbert.load_dataset(_write(tmp_path / "d.jsonl", "".join(json.dumps(r) + "\n" for r in records))))
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.Table.from_pylist(records), tmp_path / "d.parquet")
    _check(sbert.load_dataset(tmp_path / "d.parquet"))
    _check(sbert.load_dataset(records))
    _check(sbert.load_dataset({k: [r[k] for r in records] for k in records[0]}))
    from datasets import Dataset

    _check(sbert.load_dataset(Dataset.from_list(records)))
    tuples = sbert.load_dataset([("a", "b", 0.5), ("c", "d", 1.0)])
    assert tuples.column_names == ["text0", "text1"] and tuples.labels.tolist() == [0.5, 1.0]
    assert sbert.load_dataset([("a", "b"), ("c", "d")]).labels is None


def test_scores_are_checked_and_scaled(tmp_path):
    path = _write(tmp_path / "sts.tsv", "sentence1\tsentence2\tscore\na\tb\t5.0\nc\td\t2.5\n")
    assert sbert.load_dataset(path, score_range=(0, 5)).labels.tolist() == [1.0, 0.5]
    bad = _write(tmp_path / "bad.tsv", "sentence1\tsentence2\tscore\na\tb\t5.0\nc\td\t7.5\n")
    with pytest.raises(sbert.InputError, match=r"bad.tsv:3: column 'score': score 7.5 is outside \[0, 5\]"):
        sbert.load_dataset(bad, score_range=(0, 5))


def test_label_mapping_given_and_unknown_labels(tmp_path):
    path = _write(tmp_path / "nli.tsv", "sentence1\tsentence2\tlabel\na\tb\tentailment\nc\td\tmaybe\n")
    with pytest.raises(sbert.InputError, match=r"nli.tsv:3: column 'label': unknown label 'maybe'"):
        sbert.load_dataset(path, label_names=["entailment", "neutral", "contradiction"])
    ds = sbert.load_dataset(path, label_names={"entailment": 0, "maybe": 1})
    assert ds.labels.tolist() == [0, 1] and ds.label_mapping() == {"entailment": 0, "maybe": 1}


@pytest.mark.parametrize(
    "name, text, message",
    [
        (
            "short.tsv",
            "sentence1\tsentence2\tscore\na\tb\t1\nc\td\n",
            r"short.tsv:3: the row has 2 fields but the header has 3",
        ),
        (
            "num.tsv",
            "sentence1\tsentence2\tscore\na\tb\tx1\n",
            r"num.tsv:2: column 'score': 'x1' is not a number",
        ),
        ("empty.tsv", "sentence1\tsentence2\tscore\n", r"empty.tsv: the dataset is empty"),
        ("nothing.tsv", "", r"nothing.tsv: the file is empty"),
        ("json.jsonl", '{"a": "x", "b": "y"}\n{"a": "x", "b": \n', r"json.jsonl:2: invalid JSON"),
        (
            "null.jsonl",
            '{"a": "x", "b": "y"}\n{"a": null, "b": "y"}\n',
            r"null.jsonl:2: column 'a' is empty \(null\)",
        ),
        ("missing.jsonl", '{"a": "x", "b": "y"}\n{"a": "x"}\n', r"missing.jsonl:2: column 'b' is missing"),
        ("blank.tsv", "a\tb\tlabel\nx\ty\t\n", r"blank.tsv:2: column 'label' \(the label\) is empty"),
    ],
)
def test_malformed_rows_name_file_line_and_column(tmp_path, name, text, message):
    with pytest.raises(sbert.InputError, match=message):
        sbert.load_dataset(_write(tmp_path / name, text))


def test_missing_column_and_unknown_type(tmp_path):
    path = _write(tmp_path / "d.tsv", "sentence1\tsentence2\tscore\na\tb\t1\n")
    with pytest.raises(sbert.InputError, match=r"d.tsv:2: no column 'premise'"):
        sbert.load_dataset(path, columns=["premise", "sentence2"])
    with pytest.raises(sbert.InputError, match="unknown file type '.xlsx'"):
        sbert.load_dataset(tmp_path / "d.xlsx")
    with pytest.raises(sbert.InputError, match="the dataset is empty"):
        sbert.load_dataset([])


def test_label_values_and_limit():
    teacher = np.ones((3, 4), dtype=np.float32)
    ds = sbert.load_dataset({"sentence": ["a", "b", "c"]}, label_values=teacher, limit=2)
    assert len(ds) == 2 and ds.labels.shape == (2, 4)
