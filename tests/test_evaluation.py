"""Evaluators and their metric functions, against scipy, scikit-learn and sentence-transformers."""

from __future__ import annotations

import csv
import importlib
import json

import numpy as np
import pytest
from conftest import DATA, classic_pooling, random_sentences

import sbert
from sbert._evaluation import metrics

WORDS = [
    "the",
    "a",
    "man",
    "woman",
    "cat",
    "dog",
    "plays",
    "guitar",
    "music",
    "car",
    "red",
    "blue",
    "fast",
    "slow",
    "big",
    "small",
    "house",
    "tree",
    "food",
    "sat",
]


def _sentences(n, seed):
    return random_sentences(WORDS, n, seed)


@pytest.fixture(scope="module")
def tiny(tiny_st_factory):
    from sentence_transformers import SentenceTransformer as Reference

    path = tiny_st_factory(classic_pooling(32, "mean"))
    return sbert.SentenceTransformer(path, device="cpu", backend="torch"), Reference(str(path), device="cpu")


# ------------------------------------------------------------------ pure metrics


def test_correlations_match_scipy():
    from scipy.stats import pearsonr, rankdata, spearmanr

    rng = np.random.default_rng(0)
    x = rng.integers(0, 6, 200).astype(float)  # many ties
    y = x + rng.normal(size=200)
    assert np.array_equal(metrics.rankdata(x), rankdata(x))
    assert metrics.spearman(x, y) == pytest.approx(spearmanr(x, y).statistic, abs=1e-12)
    assert metrics.pearson(x, y) == pytest.approx(pearsonr(x, y).statistic, abs=1e-12)


def test_pair_classification_metrics_match_references():
    from sentence_transformers.sentence_transformer.evaluation import BinaryClassificationEvaluator as Ref
    from sklearn.metrics import average_precision_score

    rng = np.random.default_rng(1)
    for _trial in range(20):
        labels = rng.integers(0, 2, 60)
        scores = np.round(labels * 0.3 + rng.normal(size=60), 1)  # rounded: ties
        assert metrics.average_precision(scores, labels) == pytest.approx(
            average_precision_score(labels, scores)
        )
        acc, threshold = metrics.best_accuracy_threshold(scores, labels)
        ref_acc, ref_threshold = Ref.find_best_acc_and_threshold(scores, labels, True)
        assert acc == pytest.approx(ref_acc) and threshold == pytest.approx(ref_threshold, abs=1e-6)
        assert metrics.best_f1_threshold(scores, labels) == pytest.approx(
            Ref.find_best_f1_and_threshold(scores, labels, True)
        )


def test_ranking_metrics_by_hand():
    ranked = [["d3", "d1", "d2"], ["d2", "d1", "d3"]]
    relevant = [{"d1"}, {"d2", "d3"}]
    m = metrics.ranking_metrics(
        ranked,
        relevant,
        mrr_at_k=[10],
        ndcg_at_k=[10],
        accuracy_at_k=[1],
        precision_recall_at_k=[2],
        map_at_k=[100],
    )
    assert m["mrr@10"] == pytest.approx((1 / 2 + 1) / 2)
    assert m["accuracy@1"] == pytest.approx(0.5)
    assert m["recall@2"] == pytest.approx((1 + 0.5) / 2)
    assert m["precision@2"] == pytest.approx((0.5 + 0.5) / 2)
    ndcg2 = (1 + 1 / np.log2(4)) / (1 + 1 / np.log2(3))
    assert m["ndcg@10"] == pytest.approx(((1 / np.log2(3)) + ndcg2) / 2)
    assert m["map@100"] == pytest.approx((0.5 + (1 + 2 / 3) / 2) / 2)


# ------------------------------------------------------------------ evaluators vs sentence-transformers


FOUR = ["cosine", "dot", "euclidean", "manhattan"]


@pytest.mark.parametrize("functions", [None, FOUR, ["dot"]])
def test_sts_evaluator_matches_sentence_transformers(tiny, functions):
    from sentence_transformers.sentence_transformer.evaluation import EmbeddingSimilarityEvaluator as Ref

    ours, theirs = tiny
    a, b = _sentences(40, 2), _sentences(40, 3)
    gold = np.random.default_rng(4).uniform(0, 5, 40)
    evaluator = sbert.EmbeddingSimilarityEvaluator(a, b, gold, name="sts", similarity_fn_names=functions)
    mine = evaluator(ours)
    reference = Ref(a, b, gold.tolist(), name="sts", similarity_fn_names=functions)
    ref = reference(theirs)
    # the same keys: the model's function only by default, "..._max" over several; the same primary metric
    assert set(mine) == set(ref)
    assert evaluator.primary_metric == reference.primary_metric
    for key, value in mine.items():
        assert value == pytest.approx(ref[key], abs=1e-5), key
    print(
        f"functions={functions}: keys {sorted(mine)}, primary {evaluator.primary_metric}; "
        f"{reference.primary_metric}: sbert={mine[reference.primary_metric]:.6f} "
        f"sentence-transformers={ref[reference.primary_metric]:.6f}"
    )


@pytest.mark.parametrize("functions", [None, FOUR])
def test_binary_and_triplet_evaluators_match_sentence_transformers(tiny, functions, tmp_path):
    import csv

    from sentence_transformers.sentence_transformer.evaluation import (
        BinaryClassificationEvaluator,
        TripletEvaluator,
    )

    ours, theirs = tiny
    a, b, c = _sentences(50, 5), _sentences(50, 6), _sentences(50, 7)
    labels = np.random.default_rng(8).integers(0, 2, 50).tolist()
    options = {"similarity_fn_names": functions, "name": "dev"}
    for mine_evaluator, reference in [
        (
            sbert.BinaryClassificationEvaluator(a, b, labels, **options),
            BinaryClassificationEvaluator(a, b, labels, **options),
        ),
        (sbert.TripletEvaluator(a, b, c, **options), TripletEvaluator(a, b, c, **options)),
    ]:
        mine, ref = mine_evaluator(ours, tmp_path / "ours"), reference(theirs, str(tmp_path / "theirs"))
        assert set(mine) == set(ref), type(reference).__name__
        assert mine_evaluator.primary_metric == reference.primary_metric
        for key, value in mine.items():
            tolerance = 1e-4 if key.endswith("threshold") else 1e-5
            assert value == pytest.approx(ref[key], abs=tolerance), key
        # the same CSV columns (each function's metrics, no "max")
        [path] = (tmp_path / "theirs").glob(f"{reference.csv_file}")
        header = next(csv.reader((tmp_path / "ours" / path.name).read_text().splitlines()))
        assert header == next(csv.reader(path.read_text().splitlines())), path.name


def test_triplet_accuracy_is_sentence_transformers_float32_mean(tiny):
    # sentence-transformers takes the accuracy as a float32 torch mean: 1/3 is 0.3333333432674408 there
    from sentence_transformers.sentence_transformer.evaluation import TripletEvaluator

    ours, theirs = tiny
    a, b, c = _sentences(3, 11), _sentences(3, 12), _sentences(3, 13)
    options = {"similarity_fn_names": FOUR, "name": "dev"}
    mine = sbert.TripletEvaluator(a, b, c, **options)(ours)
    ref = TripletEvaluator(a, b, c, **options)(theirs)
    assert {k: v for k, v in mine.items() if k.endswith("accuracy")} == {
        k: v for k, v in ref.items() if k.endswith("accuracy")
    }
    assert any(round(v * 3) != v * 3 for v in ref.values())  # the data makes a fraction float32 rounds


def test_main_similarity_picks_the_primary_metric(tiny):
    ours, _ = tiny
    a, b = _sentences(20, 2), _sentences(20, 3)
    gold = np.random.default_rng(4).uniform(0, 5, 20)
    only = sbert.EmbeddingSimilarityEvaluator(a, b, gold, main_similarity="manhattan")
    assert set(only(ours)) == {"pearson_manhattan", "spearman_manhattan"}
    assert only.primary_metric == "spearman_manhattan"
    several = sbert.EmbeddingSimilarityEvaluator(a, b, gold, similarity_fn_names=FOUR, main_similarity="dot")
    results = several(ours)
    assert several.primary_metric == "spearman_dot" and "spearman_max" in results
    assert results["spearman_max"] == max(results[f"spearman_{f}"] for f in FOUR)


def test_retrieval_evaluator_matches_sentence_transformers(tiny):
    from sentence_transformers.sentence_transformer.evaluation import InformationRetrievalEvaluator as Ref

    ours, theirs = tiny
    rng = np.random.default_rng(9)
    corpus = {f"d{i}": text for i, text in enumerate(_sentences(60, 10))}
    queries = {f"q{i}": text for i, text in enumerate(_sentences(15, 11))}
    relevant = {q: set(rng.choice(list(corpus), size=rng.integers(1, 4), replace=False)) for q in queries}
    relevant["q0"] = set()  # a query without relevant documents is skipped by both
    mine = sbert.InformationRetrievalEvaluator(queries, corpus, relevant, name="ir")(ours)
    ref = Ref(queries, corpus, relevant, name="ir", write_csv=False)(theirs)
    assert set(mine) == set(ref)  # the same keys, named after the similarity function as there
    for key, value in mine.items():
        assert value == pytest.approx(ref[key], abs=1e-6), key
    print(
        f"ndcg@10: sbert={mine['ir_cosine_ndcg@10']:.4f} "
        f"sentence-transformers={ref['ir_cosine_ndcg@10']:.6f}; "
        f"mrr@10: {mine['ir_cosine_mrr@10']:.4f} vs {ref['ir_cosine_mrr@10']:.6f}; "
        f"map@100: {mine['ir_cosine_map@100']:.4f} vs {ref['ir_cosine_map@100']:.6f}"
    )


def test_dense_csv_files_are_named_and_laid_out_as_sentence_transformers_writes_them(tiny, tmp_path):
    """STS (``cosine_pearson``, ...), retrieval (``cosine-NDCG@10``, ...) and reranking CSVs: the same file
    names and header rows; the reranking card settings (``at_k``) too."""
    from sentence_transformers.sentence_transformer import evaluation as reference

    ours, theirs = tiny
    corpus = {f"d{i}": text for i, text in enumerate(_sentences(12, 20))}
    queries = {f"q{i}": text for i, text in enumerate(_sentences(4, 21))}
    relevant = {q: {f"d{i}", f"d{i + 4}"} for i, q in enumerate(queries)}
    samples = [
        {"query": q, "positive": [corpus[f"d{i}"]], "negative": [corpus["d11"]]}
        for i, q in enumerate(queries.values())
    ]
    cases = [
        (
            "EmbeddingSimilarityEvaluator",
            (_sentences(6, 22), _sentences(6, 23), [0, 1, 2, 3, 4, 5]),
            {"name": "sts"},
        ),
        ("InformationRetrievalEvaluator", (queries, corpus, relevant), {"name": "ir", "ndcg_at_k": [3, 10]}),
        ("RerankingEvaluator", (samples,), {"name": "rr", "at_k": 5}),
    ]
    for name, data, options in cases:
        mine, ref = (
            getattr(sbert.evaluation, name)(*data, **options),
            getattr(reference, name)(*data, **options),
        )
        mine(ours, tmp_path / "ours"), ref(theirs, str(tmp_path / "theirs"))
        assert mine.csv_file == ref.csv_file and mine.get_config_dict() == ref.get_config_dict()
        headers = [
            (tmp_path / side / ref.csv_file).read_text().splitlines()[0] for side in ("ours", "theirs")
        ]
        assert headers[0] == headers[1], name


def test_retrieval_evaluator_counts_unknown_documents_as_never_retrieved(tiny, caplog):
    """A corpus subsampled with its qrels kept (BEIR scripts do this): the documents it lacks still count as
    relevant, never retrieved, as sentence-transformers counts them; a warning says so."""
    ours, theirs = tiny
    queries, corpus = {"q1": "a cat", "q2": "a dog"}, {"d1": "a cat sat", "d2": "a dog ran", "d3": "red car"}
    relevant = {"q1": {"d1", "gone"}, "q2": {"d2"}}
    options = {"name": "ir", "ndcg_at_k": [3], "mrr_at_k": [3], "map_at_k": [3], "accuracy_at_k": [1, 3]}
    options["precision_recall_at_k"] = [1, 3]
    mine = sbert.InformationRetrievalEvaluator(queries, corpus, relevant, **options)(ours)
    assert "not in the corpus" in caplog.text and "'gone'" in caplog.text
    evaluation = importlib.import_module("sentence_transformers.sentence_transformer.evaluation")
    reference = evaluation.InformationRetrievalEvaluator(queries, corpus, relevant, **options)
    theirs_results = reference(theirs)
    assert mine.keys() == theirs_results.keys()
    for key, value in theirs_results.items():
        assert mine[key] == pytest.approx(value, abs=1e-6), key
    assert mine["ir_cosine_recall@3"] < 1.0  # the missing document keeps recall below 1


# ------------------------------------------------------------------ transfer classification


def test_classification_evaluator_cross_validation_and_split(tiny):
    ours, _ = tiny
    texts = [f"the {w} plays music" for w in ("man", "woman", "cat", "dog")] * 5 + [
        f"a {w} car is fast" for w in ("red", "blue", "big", "small")
    ] * 5
    labels = ["music"] * 20 + ["car"] * 20
    cv = sbert.ClassificationEvaluator(texts, labels, folds=5, name="toy")(ours)
    assert cv["toy_accuracy"] == pytest.approx(1.0) and cv["toy_accuracy_std"] == 0.0
    split = sbert.ClassificationEvaluator(
        texts[::2], labels[::2], test_texts=texts[1::2], test_labels=labels[1::2]
    )(ours)
    assert split == {"accuracy": pytest.approx(1.0)}
    with pytest.raises(sbert.InputError, match="rarest has 2"):
        sbert.ClassificationEvaluator(texts[:2] + texts[-2:], ["a", "a", "b", "b"], folds=5)


class _TableEncoder:
    """Fixed vectors by text: the evaluator's classifier and folds are tested apart from any model."""

    def __init__(self, texts, vectors):
        self.rows = dict(zip(texts, vectors))

    def encode(self, texts, **_):
        return np.stack([self.rows[text] for text in texts])


def test_classification_evaluator_matches_scikit_learn_on_noisy_labels():
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    # Unbalanced classes, each a weak direction drowned in noise: accuracy ~60 %, not 100, so a fold that
    # leaks, ignores the seed, C or stratification, or misaligns texts and labels gives another number.
    rng = np.random.default_rng(0)
    classes = np.array(["a", "b", "c"])
    y = rng.choice(classes, size=150, p=[0.5, 0.3, 0.2])
    x = 1.2 * np.eye(8)[np.searchsorted(classes, y)] + rng.standard_normal((150, 8))
    texts = [f"s{i}" for i in range(len(y))]
    encoder = _TableEncoder(texts, x)

    def reference(c):
        return LogisticRegression(C=c, max_iter=2000)

    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=3)
    scores = cross_val_score(reference(0.02), x, y, cv=folds, scoring="accuracy")
    leaky = reference(0.02).fit(x, y).score(x, y)
    assert 0.45 < scores.mean() < 0.75 and abs(leaky - scores.mean()) > 0.01  # the data tells them apart
    cv = sbert.ClassificationEvaluator(texts, list(y), folds=5, seed=3, c=0.02)(encoder)
    assert cv["accuracy"] == pytest.approx(scores.mean(), abs=1e-9)
    assert cv["accuracy_std"] == pytest.approx(scores.std(), abs=1e-9)

    # The test-split mode: one fit on the training rows, accuracy on the held-out rows.
    split = sbert.ClassificationEvaluator(
        texts[:100], list(y[:100]), test_texts=texts[100:], test_labels=list(y[100:]), c=0.02
    )(encoder)
    expected = reference(0.02).fit(x[:100], y[:100]).score(x[100:], y[100:])
    assert expected < 0.9 and split == {"accuracy": pytest.approx(expected, abs=1e-9)}


# ------------------------------------------------------------------ results in the card


def test_results_go_to_the_card_and_a_json_file(tiny, tmp_path):
    from sbert._evaluation.base import record_results

    ours, _ = tiny
    results = sbert.EmbeddingSimilarityEvaluator(
        ["a cat"], ["a dog"], [1.0], name="sts", functions=["cosine"]
    )
    values = {"sts_spearman_cosine": 0.8123456}
    record_results(ours, values, tmp_path / "eval.json")
    assert json.loads((tmp_path / "eval.json").read_text()) == values
    ours.save(tmp_path / "model")
    card = (tmp_path / "model" / "README.md").read_text()
    assert "| sts_spearman_cosine | 0.8123 |" in card  # 4 decimals, as sentence-transformers' cards
    assert results.primary_key == "sts_spearman_cosine"


@pytest.mark.slow
def test_sts_evaluator_default_model_stsb_test(default_model):
    with open(DATA / "stsb" / "test.tsv", encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    evaluator = sbert.EmbeddingSimilarityEvaluator(
        [r["sentence1"] for r in rows],
        [r["sentence2"] for r in rows],
        [float(r["score"]) for r in rows],
        name="sts-test",
    )
    results = evaluator(default_model)
    assert round(results["sts-test_spearman_cosine"], 4) == 0.8203, results


def test_binary_and_retrieval_results_in_sentence_transformers_key_order(
    default_model, st_default_model, tmp_path
):
    """The results dicts list their keys as sentence-transformers' do (f1_threshold after f1; precisions,
    recalls, then ndcg before mrr), with the same values; the binary CSV keeps its own column order."""
    from sentence_transformers.sentence_transformer import evaluation as st_evaluation

    first = ["A man eats food.", "A woman plays guitar.", "The cat sleeps.", "Kids play outside."]
    second = ["Someone eats.", "A person plays music.", "A cat naps.", "It is raining."]
    corpus = {f"d{i}": text for i, text in enumerate(first + second)}
    cases = [
        (
            "BinaryClassificationEvaluator",
            {"sentences1": first, "sentences2": second, "labels": [1, 1, 1, 0]},
        ),
        (
            "InformationRetrievalEvaluator",
            {
                "queries": {"q1": "a sleeping cat", "q2": "music"},
                "corpus": corpus,
                "relevant_docs": {"q1": {"d2", "d6"}, "q2": {"d1"}},
            },
        ),  # fmt: skip
    ]
    for name, kwargs in cases:
        mine = getattr(sbert.evaluation, name)(name="dev", **kwargs)(default_model)
        expected = getattr(st_evaluation, name)(name="dev", **kwargs)(st_default_model)
        assert list(mine) == list(expected), name
        assert [mine[k] for k in expected] == pytest.approx(list(expected.values()), abs=1e-5)
    kwargs = dict(cases[0][1], name="dev")
    sbert.evaluation.BinaryClassificationEvaluator(**kwargs)(
        default_model, output_path=str(tmp_path / "mine")
    )
    st_evaluation.BinaryClassificationEvaluator(**kwargs)(st_default_model, output_path=str(tmp_path / "st"))
    header = [
        (tmp_path / d / "binary_classification_evaluation_dev_results.csv").read_text().splitlines()[0]
        for d in ("mine", "st")
    ]
    assert header[0] == header[1]
