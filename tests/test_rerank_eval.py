"""Cross-encoder evaluators against sentence-transformers' (same predictions, metrics within 1e-6), the
retrieve-then-rerank evaluator, and ``sbert eval rerank``."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import build_tiny_classifier, classic_pooling

import sbert.cross_encoder.evaluation
from sbert import FakeEncoder, InformationRetrievalEvaluator, InputError
from sbert._cli import main
from sbert._evaluation.reranking import RetrieveRerankEvaluator, f1_scores, ndcg_at_k
from sbert.cross_encoder.evaluation import (
    CrossEncoderClassificationEvaluator,
    CrossEncoderCorrelationEvaluator,
    CrossEncoderRerankingEvaluator,
)

WORDS = (
    "the a cat dog sat mat man woman plays guitar music car red blue big small good bad house tree".split()
)
RNG = np.random.default_rng(0)
PAIRS = [(" ".join(RNG.choice(WORDS, 4)), " ".join(RNG.choice(WORDS, 6))) for _ in range(24)]
SCORES = RNG.uniform(0, 5, len(PAIRS)).round(1).tolist()
BINARY = [i % 2 for i in range(len(PAIRS))]
CLASSES = [i % 3 for i in range(len(PAIRS))]
DOCS = [" ".join(RNG.choice(WORDS, 5)) for _ in range(30)]
SAMPLES_NEGATIVE = [
    {"query": f"the {w} plays", "positive": DOCS[i : i + 2], "negative": DOCS[i + 2 : i + 9]}
    for i, w in enumerate(["cat", "dog", "man", "woman", "car"])
] + [{"query": "a red house", "positive": DOCS[20], "negative": DOCS[21:24]}]  # one positive as a str
SAMPLES_DOCUMENTS = [
    {"query": "the cat plays", "positive": DOCS[:2], "documents": DOCS[1:12]},  # misses positive 0
    {"query": "the dog plays", "positive": [DOCS[12]], "documents": DOCS[13:20]},  # misses every positive
    {"query": "a big tree", "positive": [DOCS[22], DOCS[25]], "documents": DOCS[20:29]},
    {"query": "music", "positive": [DOCS[3]], "documents": [DOCS[3], *DOCS[5:9]]},
]


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("rerank-ce")
    return {n: build_tiny_classifier(root / f"labels{n}", num_labels=n) for n in (1, 3)}


@pytest.fixture(scope="module")
def st_models(folders):
    from sentence_transformers import CrossEncoder as ReferenceModel

    return {n: ReferenceModel(str(path), device="cpu") for n, path in folders.items()}


def assert_same(mine: dict, reference: dict, *, tolerance: float = 1e-6) -> None:
    """The same keys, the same values within ``tolerance``."""
    assert set(mine) == set(reference)
    for key, value in reference.items():
        assert mine[key] == pytest.approx(value, abs=tolerance), key


def test_correlation_as_sentence_transformers(st_models):
    from sentence_transformers.cross_encoder.evaluation import CrossEncoderCorrelationEvaluator as Reference

    evaluator = CrossEncoderCorrelationEvaluator(PAIRS, SCORES, name="sts")
    assert_same(evaluator(st_models[1]), Reference(PAIRS, SCORES, name="sts", write_csv=False)(st_models[1]))
    assert evaluator.primary_key == "sts_spearman"


@pytest.mark.parametrize("num_labels, labels", [(1, BINARY), (3, CLASSES)])
def test_classification_as_sentence_transformers(st_models, num_labels, labels):
    from sentence_transformers.cross_encoder.evaluation import (
        CrossEncoderClassificationEvaluator as Reference,
    )

    evaluator = CrossEncoderClassificationEvaluator(PAIRS, labels, name="dev")
    reference = Reference(PAIRS, labels, name="dev", write_csv=False)
    assert_same(evaluator(st_models[num_labels]), reference(st_models[num_labels]))
    assert evaluator.primary_key == reference.primary_metric  # dev_average_precision / dev_f1_macro


@pytest.mark.parametrize(
    "samples, always_rerank_positives",
    [(SAMPLES_NEGATIVE, True), (SAMPLES_DOCUMENTS, True), (SAMPLES_DOCUMENTS, False)],
    ids=["negatives", "documents", "documents-as-ranked"],
)
@pytest.mark.parametrize("at_k", [10, 3])
def test_reranking_as_sentence_transformers(st_models, samples, always_rerank_positives, at_k):
    from sentence_transformers.cross_encoder.evaluation import CrossEncoderRerankingEvaluator as Reference

    options = {"at_k": at_k, "always_rerank_positives": always_rerank_positives, "name": "dev"}
    mine = CrossEncoderRerankingEvaluator(samples, **options)(st_models[1])
    reference = Reference(samples, write_csv=False, **options)(st_models[1])
    assert_same(mine, reference)
    assert ("dev_base_map" in mine) == ("documents" in samples[0])  # the first-stage ranking, scored too


@pytest.mark.parametrize("kind", ["correlation", "binary", "classes", "reranking"])
def test_csv_files_as_sentence_transformers_writes_them(st_models, tmp_path, kind):
    """The same file names, csv_file / csv_headers attributes, header rows and values; write_csv=False
    writes nothing."""
    import csv

    from sentence_transformers.cross_encoder import evaluation as reference

    made = {
        "correlation": ("CrossEncoderCorrelationEvaluator", (PAIRS, SCORES), 1),
        "binary": ("CrossEncoderClassificationEvaluator", (PAIRS, BINARY), 1),
        "classes": ("CrossEncoderClassificationEvaluator", (PAIRS, CLASSES), 3),
        "reranking": ("CrossEncoderRerankingEvaluator", (SAMPLES_DOCUMENTS,), 1),
    }
    cls, arguments, labels = made[kind]
    options = {"name": "dev", **({"at_k": 3} if kind == "reranking" else {})}
    ours = getattr(sbert.cross_encoder.evaluation, cls)(*arguments, **options)
    theirs = getattr(reference, cls)(*arguments, **options)
    for evaluator, folder in ((ours, "ours"), (theirs, "theirs")):
        evaluator(st_models[labels], output_path=str(tmp_path / folder), epoch=1, steps=2)
    assert ours.csv_file == theirs.csv_file and ours.csv_headers == theirs.csv_headers
    rows = [
        list(csv.reader((tmp_path / f / ours.csv_file).read_text().splitlines())) for f in ("ours", "theirs")
    ]
    assert rows[0][0] == rows[1][0] == ours.csv_headers
    np.testing.assert_allclose(np.asarray(rows[0][1], float), np.asarray(rows[1][1], float), atol=1e-6)
    quiet = getattr(sbert.cross_encoder.evaluation, cls)(*arguments, **options, write_csv=False)
    quiet(st_models[labels], output_path=str(tmp_path / "quiet"))
    assert not (tmp_path / "quiet").exists()


def test_sbert_cross_encoder_gives_sentence_transformers_figures(folders, st_models):
    from sbert import CrossEncoder

    model = CrossEncoder(folders[1])
    for evaluator in (
        CrossEncoderCorrelationEvaluator(PAIRS, SCORES),
        CrossEncoderRerankingEvaluator(SAMPLES_DOCUMENTS, always_rerank_positives=False),
    ):
        mine, reference = evaluator(model), evaluator(st_models[1])
        assert mine == pytest.approx(reference, abs=1e-5)  # predictions agree within 1e-5


def test_ndcg_and_f1_as_scikit_learn():
    from sklearn.metrics import f1_score, ndcg_score

    rng = np.random.default_rng(1)
    for _ in range(20):
        relevance = rng.integers(0, 3, 12)
        scores = rng.integers(0, 4, 12).astype(float)  # many ties: their gains are averaged
        for k in (1, 5, 12):
            expected = ndcg_score([relevance], [scores], k=k) if relevance.any() else 0.0
            assert ndcg_at_k(relevance, scores, k) == pytest.approx(expected, abs=1e-12)
        labels, predicted = rng.integers(0, 4, 30), rng.integers(0, 3, 30)
        found = f1_scores(labels, predicted)
        for average in ("macro", "micro", "weighted"):
            assert found[f"f1_{average}"] == pytest.approx(
                f1_score(labels, predicted, average=average, zero_division=0)
            )


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: CrossEncoderRerankingEvaluator([]), "no samples"),
        (lambda: CrossEncoderRerankingEvaluator([{"query": "q", "negative": []}]), "'query' and 'positive'"),
        (
            lambda: CrossEncoderRerankingEvaluator(
                [{"query": "q", "positive": [], "negative": [], "documents": []}]
            ),
            "exactly one",
        ),
        (lambda: CrossEncoderCorrelationEvaluator(PAIRS, SCORES[:3]), "differ in length"),
        (lambda: CrossEncoderCorrelationEvaluator([("a", 3)], [1.0]), r"sentence_pairs\[0\]"),
        (lambda: RetrieveRerankEvaluator({"q": "x"}, {"d": "y"}, {"q": {"d": 1}}, None, top_k=0), "top_k"),
    ],
)
def test_bad_evaluator_inputs_are_input_errors(make, message):
    with pytest.raises(InputError, match=message):
        make()


class OracleReranker:
    """Scores 1 for a judged document, 0 otherwise: a perfect reranker."""

    def __init__(self, relevant_texts):
        self.relevant = relevant_texts
        self.progress = []  # the show_progress_bar of each call

    def predict(self, pairs, batch_size=32, show_progress_bar=False):
        self.progress.append(show_progress_bar)
        return np.array([float((q, d) in self.relevant) for q, d in pairs])


def test_retrieve_then_rerank_scores_both_rankings_alike():
    queries = {"q1": "cat sat mat", "q2": "man plays guitar", "q3": "red car fast"}
    corpus = {f"d{i}": text for i, text in enumerate(DOCS)}
    qrels = {"q1": {"d3": 1, "d7": 1}, "q2": {"d11": 1}, "q3": {"d20": 2, "d4": 1}}
    retriever = FakeEncoder(32)
    evaluator = RetrieveRerankEvaluator(queries, corpus, qrels, retriever, top_k=30)
    relevant = {(queries[q], corpus[d]) for q, docs in qrels.items() for d in docs}
    results = evaluator(OracleReranker(relevant))
    alone = InformationRetrievalEvaluator(queries, corpus, qrels, map_at_k=(30,))(retriever)
    for key in ("ndcg@10", "mrr@10", "map@30"):
        assert results[f"base_{key}"] == pytest.approx(alone[f"cosine_{key}"])  # as `sbert eval retrieval`
        assert results[key] == pytest.approx(1.0)  # every judged document is in the top 30: perfect
    assert results["base_ndcg@10"] < 1


def test_reciprocal_rank_fusion_sums_one_over_k_plus_rank():
    from sbert.util import reciprocal_rank_fusion  # the public name

    # a: 1/61 + 1/62, c: 1/63 + 1/61, b: 1/62 + 1/63
    assert reciprocal_rank_fusion([["a", "b", "c"], ["c", "a", "b"]]) == ["a", "c", "b"]
    assert reciprocal_rank_fusion([["a", "b"], ["b", "a"]]) == ["a", "b"]  # a tie keeps the first order
    assert reciprocal_rank_fusion([["a", "b"], ["b", "a"]], k=0) == ["a", "b"]
    assert reciprocal_rank_fusion([["a", "b", "c"], ["c"]], k=0) == ["c", "a", "b"]  # 1/3 + 1 beats 1
    with pytest.raises(InputError, match="k must be"):
        reciprocal_rank_fusion([["a"]], k=-1)


def test_retrieve_then_rerank_with_rrf_fusion_scores_the_fused_order():
    from sbert._search.fusion import reciprocal_rank_fusion

    queries = {"q1": "cat sat mat", "q2": "man plays guitar", "q3": "red car fast"}
    corpus = {f"d{i}": text for i, text in enumerate(DOCS)}
    qrels = {"q1": {"d3": 1, "d7": 1}, "q2": {"d11": 1}, "q3": {"d20": 2, "d4": 1}}
    relevant = {(queries[q], corpus[d]) for q, docs in qrels.items() for d in docs}
    retriever = FakeEncoder(32)
    plain = RetrieveRerankEvaluator(queries, corpus, qrels, retriever, top_k=30)(OracleReranker(relevant))
    evaluator = RetrieveRerankEvaluator(queries, corpus, qrels, retriever, top_k=30, fusion="rrf")
    results = evaluator(OracleReranker(relevant))
    assert {k: v for k, v in results.items() if not k.startswith("fused_")} == plain
    retrieved = evaluator.retrieved
    oracle = [sorted(ids, key=lambda d, q=q: d not in qrels[q]) for q, ids in zip(queries, retrieved)]
    fused = [reciprocal_rank_fusion([ids, order]) for ids, order in zip(retrieved, oracle)]
    expected = InformationRetrievalEvaluator(queries, corpus, qrels, map_at_k=(30,))
    from sbert._evaluation import metrics

    found = metrics.ranking_metrics(fused, expected.relevant, **evaluator.ks)
    for key in ("ndcg@10", "mrr@10", "map@30"):
        assert results[f"fused_{key}"] == pytest.approx(found[key])
    assert results["base_ndcg@10"] < results["fused_ndcg@10"] <= results["ndcg@10"]
    with pytest.raises(InputError, match="fusion must be"):
        RetrieveRerankEvaluator(queries, corpus, qrels, retriever, fusion="sum")


class RecordingEncoder(FakeEncoder):
    def __init__(self, dim):
        super().__init__(dim)
        self.progress = []

    def encode(self, sentences, **options):
        self.progress.append(options.get("show_progress_bar"))
        return super().encode(sentences, **options)


@pytest.mark.parametrize("show", [False, True, None])
def test_evaluators_pass_show_progress_bar_to_predict_and_encode(show):
    queries, corpus = {"q1": "cat sat mat"}, {f"d{i}": text for i, text in enumerate(DOCS)}
    retriever, reranker = RecordingEncoder(32), OracleReranker(set())
    options = {} if show is False else {"show_progress_bar": show}  # False is the default
    RetrieveRerankEvaluator(queries, corpus, {"q1": {"d3": 1}}, retriever, top_k=5, **options)(reranker)
    CrossEncoderRerankingEvaluator(SAMPLES_NEGATIVE, **options)(reranker)
    CrossEncoderCorrelationEvaluator(PAIRS, SCORES, **options)(reranker)
    assert retriever.progress == [show, show] and reranker.progress == [show, bool(show), bool(show)]


# ------------------------------------------------------------------------------------- sbert eval rerank


@pytest.fixture
def beir(tmp_path):
    """A tiny BEIR-style set with the headers of ../shared/data/scifact."""
    (tmp_path / "corpus.tsv").write_text(
        "id\ttitle\ttext\n" + "".join(f"{i}\tdoc {i}\t{t}\n" for i, t in enumerate(DOCS))
    )
    (tmp_path / "queries.tsv").write_text("id\ttext\n1\tthe cat sat on the mat\n2\ta man plays the guitar\n")
    (tmp_path / "qrels.tsv").write_text("query_id\tcorpus_id\tscore\n1\t3\t1\n1\t8\t1\n2\t11\t1\n")
    return tmp_path


def test_eval_rerank_prints_retriever_and_reranked_side_by_side(beir, folders, capsys):
    files = ["--corpus", str(beir / "corpus.tsv"), "--queries", str(beir / "queries.tsv")]
    files += ["--qrels", str(beir / "qrels.tsv")]
    argv = [
        "eval",
        "rerank",
        *files,
        "--reranker",
        str(folders[1]),
        "--top-k",
        "20",
        "--json",
        str(beir / "r.json"),
    ]
    assert main(argv) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines[:-1]] == ["ndcg@10", "mrr@10", "map@20", "recall@20"]
    retriever = float(lines[0].split()[1].removeprefix("retriever="))
    reranked = float(lines[0].split()[2].removeprefix("reranked="))
    assert lines[-1] == f"ndcg@10={reranked:.2f}"
    assert main(["eval", "retrieval", *files]) == 0  # the same retriever figure as `sbert eval retrieval`
    assert capsys.readouterr().out.splitlines()[-1] == f"ndcg@10={retriever:.2f}"
    assert '"base_ndcg@10"' in (beir / "r.json").read_text()
    assert main([*argv, "--fusion", "rrf"]) == 0
    fused = capsys.readouterr().out.splitlines()
    assert fused[0].startswith(f"{lines[0]} fused=") and fused[-1] == lines[-1]


@pytest.mark.parametrize(
    "qrels, message",
    [
        ("query_id\tdoc\tscore\n1\t3\t1\n", "needs a column named 'corpus-id'"),
        ("query_id\tcorpus_id\tscore\n1\t99\t1\n", "not in the corpus"),
        ("query_id\tcorpus_id\tscore\n1\t3\thigh\n", "is not a number"),
        ("query_id\tcorpus_id\tscore\n7\t3\t1\n", "no query has a relevant document"),
    ],
)
def test_eval_rerank_bad_inputs_are_one_line_errors(beir, capsys, model_loads, qrels, message):
    (beir / "qrels.tsv").write_text(qrels)
    files = ["--corpus", str(beir / "corpus.tsv"), "--queries", str(beir / "queries.tsv")]
    assert main(["eval", "rerank", *files, "--qrels", str(beir / "qrels.tsv"), "--reranker", "x"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("sbert: error: ") and message in err and err.count("\n") == 1
    assert model_loads == []  # refused before any model loads


def test_eval_rerank_refuses_an_embedding_model_as_reranker(beir, tiny_st_factory, capsys, model_loads):
    embedding_model = str(tiny_st_factory(classic_pooling(32, "mean")))
    files = ["--corpus", str(beir / "corpus.tsv"), "--queries", str(beir / "queries.tsv")]
    argv = ["eval", "rerank", *files, "--qrels", str(beir / "qrels.tsv"), "--reranker", embedding_model]
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith("sbert: error: ") and "not a trained cross-encoder" in captured.err
    assert captured.out == "" and model_loads == []  # refused before the retriever loads


def test_eval_rerank_needs_a_reranker(beir, capsys):
    files = ["--corpus", str(beir / "corpus.tsv"), "--queries", str(beir / "queries.tsv")]
    assert main(["eval", "rerank", *files, "--qrels", str(beir / "qrels.tsv")]) == 2
    assert "--reranker" in capsys.readouterr().err


def test_compute_metrics_of_one_ranking_as_sentence_transformers():
    from sentence_transformers.cross_encoder.evaluation import CrossEncoderRerankingEvaluator as Reference

    samples = [{"query": "q", "positive": ["p"], "negative": ["n"]}]
    rng = np.random.default_rng(0)
    for at_k in (1, 3, 10):
        ours, theirs = CrossEncoderRerankingEvaluator(samples, at_k=at_k), Reference(samples, at_k=at_k)
        for _ in range(20):
            n = int(rng.integers(1, 12))
            relevance = rng.integers(0, 2, n).tolist()
            scores = rng.normal(size=n).tolist()
            positives = int(rng.integers(0, 4)) + sum(relevance) if rng.random() < 0.5 else None
            expected = theirs.compute_metrics(relevance, scores, positives)
            np.testing.assert_allclose(
                ours.compute_metrics(relevance, scores, positives), expected, atol=1e-12
            )
