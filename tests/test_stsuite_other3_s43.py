"""Parity found by running sentence-transformers' own test-suite scenarios (cross-encoder NanoBEIR, model
cards and trainers, sparse evaluators and trainer, multi-vector extras, batch-triplet losses; part 3 of
session 43) against both libraries on tiny local models."""

from __future__ import annotations

import numpy as np
import pytest

import sbert

RERANK_SAMPLES = [{"query": "q", "positive": ["p"], "negative": ["n"]}]


@pytest.mark.parametrize(
    ("y_true", "y_pred", "num_positives"),
    [
        ([0, 1, 0], [0.9, 0.8, 0.1], None),
        ([0, 1, 0], [0.9, 0.8, 0.1], 3),
        ([0, 0, 1, 0], [0.9, 0.8, 0.5, 0.5], None),  # the one positive ranked past at_k
        ([0, 0, 0], [1.0, 2.0, 3.0], None),  # nothing relevant
        ([1], [0.3], 3),
        (np.array([0, 1, 0]), np.array([0.9, 0.8, 0.1]), None),
        ([1, 1, 0], [0.5, 0.5, 0.5], 3),
    ],
)
def test_reranking_compute_metrics_returns_sentence_transformers_types(y_true, y_pred, num_positives):
    """CrossEncoderRerankingEvaluator.compute_metrics: the same (MRR, NDCG, AP) values and Python/numpy types
    as sentence-transformers 6.3 (an int 0 where nothing is relevant or no positive is in the top k)."""
    from sentence_transformers.cross_encoder.evaluation import CrossEncoderRerankingEvaluator

    ours = sbert.cross_encoder.evaluation.CrossEncoderRerankingEvaluator(RERANK_SAMPLES, at_k=2)
    theirs = CrossEncoderRerankingEvaluator(RERANK_SAMPLES, at_k=2)
    mine = ours.compute_metrics(y_true, y_pred, num_positives=num_positives)
    reference = theirs.compute_metrics(y_true, y_pred, num_positives=num_positives)
    assert type(mine) is type(reference)
    assert [type(value) for value in mine] == [type(value) for value in reference]
    np.testing.assert_allclose(mine, reference, atol=1e-12, rtol=0)


RERANK_WITH_DOCUMENTS = [
    {
        "query": "what is python",
        "positive": ["python is a language"],
        "documents": ["dogs run", "python is a language"],
    },
    {
        "query": "where is the cat",
        "positive": ["the cat sits"],
        "documents": ["music plays", "dogs run", "the cat sits"],
    },
]
RERANK_WITH_NEGATIVES = [
    {"query": "where is the cat", "positive": ["the cat sits"], "negative": ["dogs run", "music"]}
]


def _card_results(model) -> list[tuple[str, dict]]:
    return [
        (type(evaluator).__name__, dict(values))
        for evaluator, values in model.model_card_data.eval_results_dict.items()
    ]


def _front_matter(folder) -> dict:
    import yaml

    text = (folder / "README.md").read_text(encoding="utf-8")
    return yaml.safe_load(text.split("---")[1])


def _assert_same_card_metrics(ours, theirs, tmp_path) -> None:
    """The card data's results, then the saved cards' front matter ``metrics`` and ``model-index``."""
    assert _card_results(ours) == _card_results(theirs)
    ours.save(str(tmp_path / "ours"))
    theirs.save(str(tmp_path / "theirs"))
    mine_front, their_front = _front_matter(tmp_path / "ours"), _front_matter(tmp_path / "theirs")
    assert mine_front["metrics"] == their_front["metrics"]
    assert mine_front["model-index"][0]["results"] == their_front["model-index"][0]["results"]


@pytest.mark.parametrize(
    "samples", [RERANK_WITH_DOCUMENTS, RERANK_WITH_NEGATIVES], ids=["documents", "negatives"]
)
def test_reranking_evaluator_card_metrics_as_sentence_transformers(tmp_path, samples):
    """A reranking evaluation with a given order (``documents``) keeps the reranked metrics with their
    change over that order ("0.4167 (-0.0833)") in the card data, as sentence-transformers 6.3; the front
    matter's ``metrics`` and model-index values follow."""
    from conftest import build_tiny_classifier
    from sentence_transformers import CrossEncoder
    from sentence_transformers.cross_encoder.evaluation import CrossEncoderRerankingEvaluator

    folder = build_tiny_classifier(tmp_path / "ce", num_labels=1)
    ours, theirs = sbert.CrossEncoder(str(folder)), CrossEncoder(str(folder))
    mine = sbert.cross_encoder.evaluation.CrossEncoderRerankingEvaluator(samples, name="dev")(ours)
    reference = CrossEncoderRerankingEvaluator(samples, name="dev")(theirs)
    assert mine == pytest.approx(reference, abs=1e-6)
    _assert_same_card_metrics(ours, theirs, tmp_path)


class _Rows:
    """A NanoBEIR subset as plain rows: what the evaluators read of a ``datasets.Dataset``."""

    def __init__(self, rows):
        self.rows, self.column_names = rows, list(rows[0]) if rows else []

    def __iter__(self):
        return iter(self.rows)

    def __len__(self):
        return len(self.rows)

    def __getitem__(self, key):
        return [row[key] for row in self.rows] if isinstance(key, str) else self.rows[key]

    def map(self, function, fn_kwargs=None):
        return _Rows([function(row, **(fn_kwargs or {})) for row in self.rows])


def _nanobeir_rows(subset, drop=None):
    rows = {
        "corpus": [
            {"_id": f"d{i}", "text": text}
            for i, text in enumerate(["a cat", "dogs run", "python", "the sun"])
        ],
        "queries": [{"_id": "q1", "text": "what is python"}, {"_id": "q2", "text": "where is the cat"}],
        "qrels": [{"query-id": "q1", "corpus-id": "d2"}, {"query-id": "q2", "corpus-id": "d0"}],
        "bm25": [
            {"query-id": "q1", "corpus-ids": ["d1", "d2", "d3"]},
            {"query-id": "q2", "corpus-ids": ["d3", "d0"]},
        ],
    }[subset]
    return _Rows([{k: v for k, v in row.items() if k != drop} for row in rows])


@pytest.fixture
def fake_nanobeir(monkeypatch):
    """A stand-in ``datasets`` module serving a two-query NanoBEIR set for every split; ``fail`` names a
    subset that cannot be loaded, ``drop`` a (subset, column) left out."""
    import datasets

    settings = {"fail": None, "drop": (None, None)}

    def load_dataset(path, subset, split=None, **kwargs):
        if subset == settings["fail"]:
            raise FileNotFoundError(f"no {subset} here")
        return _nanobeir_rows(subset, settings["drop"][1] if settings["drop"][0] == subset else None)

    monkeypatch.setattr(datasets, "load_dataset", load_dataset)
    return settings


def test_cross_encoder_nanobeir_card_metrics_as_sentence_transformers(tmp_path, fake_nanobeir):
    """CrossEncoderNanoBEIREvaluator's card data: the aggregate reranked metrics with their change over
    BM25's order, as sentence-transformers 6.3 keeps them; same results and front matter."""
    from conftest import build_tiny_classifier
    from sentence_transformers import CrossEncoder
    from sentence_transformers.cross_encoder.evaluation import CrossEncoderNanoBEIREvaluator

    folder = build_tiny_classifier(tmp_path / "ce", num_labels=1)
    ours, theirs = sbert.CrossEncoder(str(folder)), CrossEncoder(str(folder))
    names = ["msmarco", "nq"]
    mine = sbert.cross_encoder.evaluation.CrossEncoderNanoBEIREvaluator(names, write_csv=False)(ours)
    reference = CrossEncoderNanoBEIREvaluator(names, write_csv=False)(theirs)
    assert mine == pytest.approx(reference, abs=1e-6)
    _assert_same_card_metrics(ours, theirs, tmp_path)


BROKEN_SUBSETS = [
    ("dense", {"fail": "qrels"}),
    ("dense", {"drop": ("corpus", "text")}),
    ("cross-encoder", {"fail": "qrels"}),
    ("cross-encoder", {"drop": ("corpus", "text")}),
    ("cross-encoder", {"drop": ("bm25", "corpus-ids")}),
]


@pytest.mark.parametrize(("kind", "broken"), BROKEN_SUBSETS, ids=str)
def test_nanobeir_subset_errors_read_as_sentence_transformers(fake_nanobeir, kind, broken):
    """A subset that cannot be loaded or lacks a column: sentence-transformers 6.3's ValueError text."""
    from sentence_transformers.cross_encoder.evaluation import CrossEncoderNanoBEIREvaluator
    from sentence_transformers.sentence_transformer.evaluation import NanoBEIREvaluator

    fake_nanobeir.update(broken)
    ours, theirs = (
        (sbert.evaluation.NanoBEIREvaluator, NanoBEIREvaluator)
        if kind == "dense"
        else (sbert.cross_encoder.evaluation.CrossEncoderNanoBEIREvaluator, CrossEncoderNanoBEIREvaluator)
    )
    with pytest.raises(ValueError) as mine:
        ours(["msmarco"])
    with pytest.raises(ValueError) as reference:
        theirs(["msmarco"])
    assert str(mine.value) == str(reference.value)


@pytest.mark.parametrize(
    "name",
    [
        "BatchAllTripletLoss",
        "BatchHardTripletLoss",
        "BatchSemiHardTripletLoss",
        "BatchHardSoftMarginTripletLoss",
    ],
)
@pytest.mark.parametrize("labels", [[0, 0, 1, 1], [0, 0, 1, 1, 2, 2], 1], ids=["short", "long", "scalar"])
def test_batch_triplet_label_count_error_reads_as_sentence_transformers(tiny_st_factory, name, labels):
    """Labels not one per text: the batch-triplet losses raise sentence-transformers 6.3's ValueError text,
    the one the pair losses share; one label per text, even as a column, gives its loss."""
    import sentence_transformers
    import torch
    from conftest import classic_pooling
    from sentence_transformers.sentence_transformer import losses as st_losses

    folder = tiny_st_factory(classic_pooling(32, "mean"))
    ours_model = sbert.SentenceTransformer(str(folder), device="cpu").eval()
    theirs_model = sentence_transformers.SentenceTransformer(str(folder), device="cpu").eval()
    ours, theirs = getattr(sbert.losses, name)(ours_model), getattr(st_losses, name)(theirs_model)
    texts = ["a cat", "a dog", "the sun", "rain falls", "music"]
    ours_features, theirs_features = [ours_model.tokenize(texts)], [theirs_model.tokenize(texts)]
    with pytest.raises(ValueError) as mine:
        ours(ours_features, torch.tensor(labels))
    with pytest.raises(ValueError) as reference:
        theirs(theirs_features, torch.tensor(labels))
    assert str(mine.value) == str(reference.value)
    column = torch.tensor([[0], [0], [1], [1], [2]])
    torch.testing.assert_close(
        ours(ours_features, column), theirs(theirs_features, column), atol=1e-5, rtol=0
    )
