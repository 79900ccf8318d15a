"""sbert.util.resolve_ids against sentence-transformers' (same output columns and values, same errors), and
the trainers reading a dataset through ``set_transform(resolve_ids(...))`` as sentence-transformers' do."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch
from conftest import SENTENCES

import sbert
from sbert.util import resolve_ids

datasets = pytest.importorskip("datasets")
Dataset = datasets.Dataset
reference_util = pytest.importorskip("sentence_transformers.util")

TEXTS = [s for s in SENTENCES if s.strip()] + ["the dog runs fast", "a man plays guitar", "she eats food"]


def lookups() -> dict[str, Dataset]:
    return {
        "queries": Dataset.from_dict({"query_id": ["q0", "q1", "q2"], "text": TEXTS[:3]}),
        "documents": Dataset.from_dict({"doc_id": list(range(10, 10 + len(TEXTS))), "text": TEXTS}),
        "two_ids": Dataset.from_dict({"id": [1, 2], "other_id": [3, 4], "text": ["x", "y"]}),
        "two_values": Dataset.from_dict({"id": [1, 2], "text": ["x", "y"], "title": ["t", "u"]}),
    }


TRAIN = {
    "query_id": ["q0", "q1", "q2", "q0"],
    "positive_id": [10, 11, 12, 13],
    "negative_id": [14, 15, 16, 17],
    "document_ids": [[10, 11, 12], [13, 14, 15], [16, 17, 10], [11, 12, 13]],
    "ragged_ids": [[10], [11, 12], [13, 14, 15], [16]],
    "scores": [[0.9, 0.5, 0.1], [0.8, 0.4, 0.2], [0.7, 0.3, 0.0], [0.6, 0.2, 0.1]],
    "label": [1.0, 0.0, 1.0, 0.5],
    "note": ["a", "b", "c", "d"],
}
# (train columns, {input column: lookup name or (name, id_col[, value_col])}, resolve_ids kwargs)
CASES = {
    "single ids": (
        ["query_id", "positive_id", "label"],
        {"query_id": "queries", "positive_id": "documents"},
        {},
    ),
    "triplet, shared lookup": (
        ["query_id", "positive_id", "negative_id", "note"],
        {"query_id": "queries", "positive_id": "documents", "negative_id": "documents"},
        {},
    ),
    "list columns": (
        ["query_id", "document_ids", "scores"],
        {"query_id": "queries", "document_ids": "documents"},
        {},
    ),
    "lists format": (
        ["query_id", "document_ids", "scores"],
        {"query_id": "queries", "document_ids": "documents"},
        {"output_format": "lists"},
    ),
    "ragged lists": (
        ["query_id", "ragged_ids", "label"],
        {"query_id": "queries", "ragged_ids": "documents"},
        {"output_format": "lists"},
    ),
    "max_list_length": (
        ["query_id", "document_ids", "scores", "label"],
        {"query_id": "queries", "document_ids": "documents"},
        {"max_list_length": 2},
    ),
    "ragged capped to one": (["ragged_ids"], {"ragged_ids": "documents"}, {"max_list_length": 1}),
    "keep_columns": (
        ["query_id", "positive_id", "label", "note"],
        {"query_id": "queries", "positive_id": "documents"},
        {"keep_columns": ["note"]},
    ),
    "explicit columns": (
        ["query_id", "positive_id"],
        {"query_id": ("queries", "query_id"), "positive_id": ("two_values", "id", "title")},
        {},
    ),
    "string-encoded lists": (
        ["query_id", "document_ids", "scores"],
        {"query_id": "queries", "document_ids": "documents"},
        {"encode_lists": True},
    ),
}


def build(factory, spec: dict, tables: dict[str, Dataset], **kwargs):
    resolved = {col: tables[v] if isinstance(v, str) else (tables[v[0]], *v[1:]) for col, v in spec.items()}
    return factory(resolved, **kwargs)


def train_data(columns: list[str], encode_lists: bool = False) -> Dataset:
    data = {c: TRAIN[c] for c in columns}
    if encode_lists:
        data = {c: [str(v) for v in vs] if isinstance(vs[0], list) else vs for c, vs in data.items()}
    return Dataset.from_dict(data)


@pytest.mark.parametrize("case", list(CASES))
def test_transform_gives_sentence_transformers_columns_and_values(case):
    columns, spec, kwargs = CASES[case]
    kwargs = dict(kwargs)
    train = train_data(columns, kwargs.pop("encode_lists", False))
    if case == "explicit columns":  # the "two_values" lookup keys on 1, 2
        train = Dataset.from_dict({"query_id": ["q2", "q1"], "positive_id": [2, 1]})
    tables = lookups()
    ours = build(resolve_ids, spec, tables, **kwargs)
    theirs = build(reference_util.resolve_ids, spec, tables, **kwargs)
    expected = theirs(train[:])
    assert ours(train[:]) == expected
    assert list(expected)  # the case resolves something
    # lazily, through set_transform, and eagerly through map: the same rows
    lazy = train.with_transform(pickle.loads(pickle.dumps(ours)))
    assert lazy[:] == expected and list(lazy)[-1] == {k: v[-1] for k, v in expected.items()}
    mapped = train.map(ours, batched=True, remove_columns=list(spec), batch_size=3)
    assert set(expected) <= set(mapped.column_names)
    assert mapped.select_columns(list(expected))[:] == expected


ERRORS = {
    "two id columns": ({"query_id": "two_ids"}, {}),
    "two value columns": ({"query_id": "two_values"}, {}),
    "missing id column": ({"query_id": ("queries", "qid")}, {}),
    "missing value column": ({"query_id": ("queries", "query_id", "body")}, {}),
    "tuple of four": ({"query_id": ("queries", "query_id", "text", "x")}, {}),
    "max_list_length 0": ({"query_id": "queries"}, {"max_list_length": 0}),
    "output_format": ({"query_id": "queries"}, {"output_format": "rows"}),
}


@pytest.mark.parametrize("case", list(ERRORS))
def test_build_time_errors_are_sentence_transformers_with_input_error(case):
    spec, kwargs = ERRORS[case]
    tables = lookups()
    with pytest.raises(ValueError) as theirs:
        build(reference_util.resolve_ids, spec, tables, **kwargs)
    with pytest.raises(sbert.InputError) as ours:
        build(resolve_ids, spec, tables, **kwargs)
    assert str(ours.value) == str(theirs.value)


@pytest.mark.parametrize(
    "spec, kwargs, error",
    [
        ({"query_id": "queries"}, {"keep_columns": "label"}, TypeError),
        ({"query_id": "queries_dict"}, {}, TypeError),
        ({"query_id": "not a dataset"}, {}, TypeError),
    ],
)
def test_build_time_type_errors(spec, kwargs, error):
    tables = lookups() | {"queries_dict": datasets.DatasetDict({"train": lookups()["queries"]})}
    tables["not a dataset"] = {"query_id": ["q0"], "text": ["x"]}
    for factory in (reference_util.resolve_ids, resolve_ids):
        with pytest.raises(error) as raised:
            build(factory, spec, tables, **kwargs)
        if factory is reference_util.resolve_ids:
            expected = str(raised.value)
    assert str(raised.value) == expected


READ_ERRORS = {
    "missing id": ({"query_id": ["q0", "q9"]}, {"query_id": "queries"}, {}, KeyError),
    "string-encoded list of unknown ids": ({"query_id": ["[1, 2]"]}, {"query_id": "queries"}, {}, KeyError),
    "unparsable string-encoded list": ({"query_id": ["[1, 2"]}, {"query_id": "queries"}, {}, ValueError),
    "ragged columns": ({"ragged_ids": TRAIN["ragged_ids"]}, {"ragged_ids": "documents"}, {}, ValueError),
    "empty lists": ({"document_ids": [[], []]}, {"document_ids": "documents"}, {}, ValueError),
    "name collision": (
        {"document_ids": [[10], [11]], "document_1": [12, 13]},
        {"document_ids": "documents", "document_1": "documents"},
        {},
        ValueError,
    ),
    "missing id in a list": ({"document_ids": [[10, 99]]}, {"document_ids": "documents"}, {}, KeyError),
}


@pytest.mark.parametrize("case", list(READ_ERRORS))
def test_read_time_errors_are_sentence_transformers(case):
    data, spec, kwargs, error = READ_ERRORS[case]
    train, tables = Dataset.from_dict(data), lookups()
    with pytest.raises(error) as theirs:
        build(reference_util.resolve_ids, spec, tables, **kwargs)(train[:])
    with pytest.raises(error) as ours:
        train.with_transform(build(resolve_ids, spec, tables, **kwargs))[:]
    assert str(ours.value) == str(theirs.value)
    if error is ValueError:
        assert isinstance(ours.value, sbert.InputError)


def test_the_util_dataset_path_and_export():
    from sbert.util.dataset import resolve_ids as at_path

    assert at_path is resolve_ids and "resolve_ids" in sbert.util.__all__


# ------------------------------------------------------------------ training on a transformed dataset


def id_triplets() -> tuple[Dataset, dict]:
    tables = lookups()
    n = len(TEXTS)
    train = Dataset.from_dict(
        {
            "query_id": ["q0", "q1", "q2", "q1", "q0", "q2", "q2", "q0"],
            "positive_id": [10 + i % n for i in range(8)],
            "negative_id": [10 + (i + 3) % n for i in range(8)],
        }
    )
    spec = {
        "query_id": tables["queries"],
        "positive_id": tables["documents"],
        "negative_id": tables["documents"],
    }
    return train, spec


RECIPE = {"per_device_train_batch_size": 4, "max_steps": 3, "learning_rate": 3e-3, "logging_steps": 1}
RECIPE |= {"save_strategy": "no", "disable_tqdm": True, "seed": 7, "report_to": "none"}
RECIPE |= {"batch_sampler": "no_duplicates"}  # the queries repeat: batches read the resolved texts


def assert_same_run(ours, theirs, our_weights, their_weights) -> None:
    """Two trainers logged the same 3 losses (1e-5) and left the same weights (1e-5)."""
    logged = [[r["loss"] for r in t.state.log_history if "loss" in r] for t in (ours, theirs)]
    assert len(logged[1]) == 3
    np.testing.assert_allclose(logged[0], logged[1], atol=1e-5, rtol=0)
    expected = dict(their_weights.named_parameters())
    for name, value in our_weights.named_parameters():
        torch.testing.assert_close(value, expected[name], atol=1e-5, rtol=0, msg=name)


def test_bi_encoder_trains_on_resolved_ids_as_sentence_transformers(dropout_free_st, tmp_path):
    """MultipleNegativesRankingLoss on (query_id, positive_id, negative_id) rows resolved by set_transform:
    the same logged losses (1e-5) and weights (1e-5) as sentence-transformers' trainer."""
    from sentence_transformers import SentenceTransformer as Reference
    from sentence_transformers import SentenceTransformerTrainer as ReferenceTrainer
    from sentence_transformers import SentenceTransformerTrainingArguments as ReferenceArguments
    from sentence_transformers.sentence_transformer.losses import (
        MultipleNegativesRankingLoss as ReferenceLoss,
    )

    from sbert.sentence_transformer import SentenceTransformerTrainer, SentenceTransformerTrainingArguments

    train, spec = id_triplets()
    theirs_data, ours_data = train.with_format(None), train.with_format(None)
    theirs_data.set_transform(reference_util.resolve_ids(spec))
    ours_data.set_transform(resolve_ids(spec))
    reference = Reference(str(dropout_free_st), device="cpu")
    their_trainer = ReferenceTrainer(
        model=reference,
        args=ReferenceArguments(str(tmp_path / "st"), **RECIPE),
        train_dataset=theirs_data,
        loss=ReferenceLoss(reference),
    )
    their_trainer.train()
    model = sbert.SentenceTransformer(dropout_free_st, backend="torch", device="cpu")
    our_trainer = SentenceTransformerTrainer(
        model=model,
        args=SentenceTransformerTrainingArguments(str(tmp_path / "ours"), **RECIPE),
        train_dataset=ours_data,
        loss=sbert.losses.MultipleNegativesRankingLoss(model),
    )
    our_trainer.train()
    assert_same_run(our_trainer, their_trainer, model[0].auto_model, reference[0].auto_model)


def test_cross_encoder_trains_listwise_on_resolved_id_lists_as_sentence_transformers(tmp_path):
    """ListNetLoss on (query_id, document_ids, scores) rows resolved with output_format="lists" (ragged):
    the same logged losses (1e-5) and weights (1e-5) as sentence-transformers' CrossEncoderTrainer."""
    from conftest import build_tiny_classifier, without_dropout
    from sentence_transformers.cross_encoder import CrossEncoder as Reference
    from sentence_transformers.cross_encoder import CrossEncoderTrainer as ReferenceTrainer
    from sentence_transformers.cross_encoder import CrossEncoderTrainingArguments as ReferenceArguments
    from sentence_transformers.cross_encoder.losses import ListNetLoss as ReferenceLoss

    from sbert.cross_encoder import CrossEncoderTrainer, CrossEncoderTrainingArguments, losses

    folder = without_dropout(build_tiny_classifier(tmp_path / "classifier", num_labels=1, seed=1))
    tables = lookups()
    train = Dataset.from_dict(
        {
            "query_id": ["q0", "q1", "q2", "q1", "q0", "q2"],
            "document_ids": [[11, 10, 12], [13, 14], [14, 15, 10, 11], [13, 12, 11], [11, 15], [14, 10, 12]],
            "scores": [[2.0, 0, 1], [1.0, 0], [1.0, 1, 3, 0], [2.0, 1, 0], [1.0, 0], [3.0, 0, 1]],
        }
    )
    spec = {"query_id": tables["queries"], "document_ids": tables["documents"]}
    theirs_data, ours_data = train.with_format(None), train.with_format(None)
    theirs_data.set_transform(reference_util.resolve_ids(spec, output_format="lists"))
    ours_data.set_transform(resolve_ids(spec, output_format="lists"))
    recipe = RECIPE | {"per_device_train_batch_size": 2}
    reference = Reference(str(folder), device="cpu")
    their_trainer = ReferenceTrainer(
        model=reference,
        args=ReferenceArguments(str(tmp_path / "st"), **recipe),
        train_dataset=theirs_data,
        loss=ReferenceLoss(reference),
    )
    their_trainer.train()
    model = sbert.CrossEncoder(folder, backend="torch", device="cpu")
    our_trainer = CrossEncoderTrainer(
        model=model,
        args=CrossEncoderTrainingArguments(str(tmp_path / "ours"), **recipe),
        train_dataset=ours_data,
        loss=losses.ListNetLoss(model),
    )
    our_trainer.train()
    assert_same_run(our_trainer, their_trainer, model.model, reference.model)


def outcome(factory, case: str):
    """What ``factory`` (either library's resolve_ids) gives in one of the edge cases below: the resolved
    batch, or the error's type and message."""
    import pyarrow as pa

    docs = lookups()["documents"]
    big = [1, 2**63 + 1, 2**64 - 1]
    runs = {
        "duplicate ids resolve to the last": lambda: factory(
            {"doc_id": Dataset.from_dict({"id": ["d1", "d1"], "text": ["first", "last"]})}
        )({"doc_id": ["d1"]}),
        "torch-formatted lookup": lambda: factory({"document_ids": docs.with_format("torch")})(
            {"document_ids": [[12, 10]]}
        ),
        "shuffled lookup": lambda: factory({"doc_id": docs.shuffle(seed=0).select(range(4))})(
            {"doc_id": docs.shuffle(seed=0)["doc_id"][:4]}
        ),
        "uint64 ids": lambda: factory(
            {
                "doc_id": Dataset(
                    pa.table({"doc_id": pa.array(big, type=pa.uint64()), "text": ["a", "b", "c"]})
                )
            }
        )({"doc_id": big[::-1]}),
        "uint64 id missing": lambda: factory(
            {
                "doc_id": Dataset(
                    pa.table({"doc_id": pa.array(big, type=pa.uint64()), "text": ["a", "b", "c"]})
                )
            }
        )({"doc_id": [1, 2**63]}),
        "wrong id type": lambda: factory({"doc_id": docs})({"doc_id": ["10"]}),
        "string-encoded list among int ids": lambda: factory({"doc_id": docs})({"doc_id": [10, "[10, 11]"]}),
        "float id for int ids": lambda: factory({"doc_id": docs})({"doc_id": [10.0]}),
        "empty lookup": lambda: factory({"doc_id": Dataset.from_dict({"doc_id": [], "text": []})})(
            {"doc_id": ["d1"]}
        ),
        "string-encoded list among ids": lambda: factory({"query_id": lookups()["queries"]})(
            {"query_id": ["q0", "['q0', 'q1']"]}
        ),
        "empty batch": lambda: factory({"doc_id": docs})({"doc_id": []}),
        "tuple rows": lambda: factory({"document_ids": docs}, max_list_length=2)(
            {"document_ids": [(10, 11, 12)], "scores": [(0.9, 0.5, 0.1)]}
        ),
        "kept column collides": lambda: factory({"scores_id": docs}, keep_columns=["scores"])(
            {"scores_id": [10], "scores": [[1.0]]}
        ),
        "plural collides": lambda: factory({"document_ids": docs, "documents": docs}, output_format="lists")(
            {"document_ids": [[10]], "documents": [11]}
        ),
        "numpy-formatted train map": lambda: (
            Dataset.from_dict({"doc_id": [10]})
            .with_format("numpy")
            .map(factory({"doc_id": docs}), batched=True)[:]
        ),
        "pandas-formatted train map": lambda: (
            Dataset.from_dict({"doc_id": [10]})
            .with_format("pandas")
            .map(factory({"doc_id": docs}), batched=True)[:]
        ),
        "torch-formatted labels capped": lambda: (
            Dataset.from_dict({"document_ids": [[10, 11, 12]], "scores": [[3, 2, 1]]})
            .with_format("torch")
            .map(
                factory({"document_ids": docs}, max_list_length=2),
                batched=True,
                remove_columns=["document_ids"],
            )
            .with_format(None)[:]
        ),
    }
    try:
        return runs[case]()
    except Exception as e:  # the outcome to compare
        return type(e).__name__, str(e)


EDGE_CASES = [
    "duplicate ids resolve to the last",
    "torch-formatted lookup",
    "shuffled lookup",
    "uint64 ids",
    "uint64 id missing",
    "wrong id type",
    "string-encoded list among ids",
    "string-encoded list among int ids",
    "float id for int ids",
    "empty lookup",
    "empty batch",
    "tuple rows",
    "kept column collides",
    "plural collides",
    "numpy-formatted train map",
    "pandas-formatted train map",
    "torch-formatted labels capped",
]


@pytest.mark.parametrize("case", EDGE_CASES)
def test_edge_cases_give_sentence_transformers_outcome(case):
    theirs = outcome(reference_util.resolve_ids, case)
    ours = outcome(resolve_ids, case)
    if isinstance(theirs, tuple) and theirs[0] == "ValueError":
        assert ours == ("InputError", theirs[1])
    else:
        assert ours == theirs
