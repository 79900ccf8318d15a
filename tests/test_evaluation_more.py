"""The rest of sentence-transformers' evaluators (MSE, reranking, translation, paraphrase mining, label
accuracy) against sentence-transformers' own, on the same tiny model: the same keys, primary metric, CSV
file and columns, and the same values (fractions ×100, as every sbert evaluator reports them)."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from conftest import classic_pooling, random_sentences

import sbert
from sbert import evaluation

WORDS = "the a man woman cat dog plays guitar music car red blue fast slow big small house".split()


def _sentences(n, seed):
    return random_sentences(WORDS, n, seed)


@pytest.fixture(scope="module")
def teachers(tiny_st_factory):
    """The tiny BERT with CLS pooling: a teacher whose embeddings differ from the student's."""
    from sentence_transformers import SentenceTransformer as Reference

    path = tiny_st_factory(classic_pooling(32, "cls"))
    return sbert.SentenceTransformer(path, device="cpu", backend="torch"), Reference(str(path), device="cpu")


def _run(ours, theirs, models, tmp_path):
    """Both evaluators called with an output folder; results, primary metrics and CSV headers by file."""
    mine = ours(models[0], tmp_path / "ours", epoch=1, steps=5)
    ref = theirs(models[1], tmp_path / "theirs", epoch=1, steps=5)
    assert set(mine) == set(ref)
    assert ours.primary_metric == theirs.primary_metric and ours.greater_is_better == theirs.greater_is_better
    headers = []
    for folder in ("ours", "theirs"):
        files = sorted((tmp_path / folder).iterdir())
        headers.append({f.name: next(csv.reader(f.read_text(encoding="utf-8").splitlines())) for f in files})
    assert headers[0] == headers[1]
    return mine, ref


def _assert_scaled(mine, ref, raw=()):
    for key, value in mine.items():
        expected = ref[key]
        assert value == pytest.approx(expected, abs=1e-6), key


def test_mse_evaluators_match_sentence_transformers(models, teachers, tmp_path):
    from sentence_transformers.sentence_transformer import evaluation as st

    source, target = _sentences(8, 1), _sentences(8, 2)
    ours = evaluation.MSEEvaluator(source, target, teacher_model=teachers[0], name="de")
    theirs = st.MSEEvaluator(source, target, teacher_model=teachers[1], name="de")
    mine, ref = _run(ours, theirs, models, tmp_path / "one")
    assert mine == {"de_negative_mse": pytest.approx(ref["de_negative_mse"], rel=1e-6)}  # ST's figure as is
    assert mine["de_negative_mse"] < 0

    rows = [{"en": s, "de": t, "fr": t.upper()} for s, t in zip(source, target)] + [
        {"en": "x", "de": " ", "fr": "y"}
    ]
    pairs = [("en", "de"), ("en", "fr")]
    ours = evaluation.MSEEvaluatorFromDataFrame(rows, teachers[0], pairs)
    theirs = st.MSEEvaluatorFromDataFrame(rows, teachers[1], pairs)
    mine, ref = _run(ours, theirs, models, tmp_path / "frame")
    assert mine == {"negative_mse": pytest.approx(ref["negative_mse"], rel=1e-6)}


def test_translation_evaluator_matches_sentence_transformers(models, tmp_path):
    from sentence_transformers.sentence_transformer.evaluation import TranslationEvaluator

    source = _sentences(12, 3)
    target = [s if i % 3 else " ".join(reversed(s.split())) for i, s in enumerate(_sentences(12, 4))]
    target[5] = target[4]  # a repeated translation counts as found either way
    ours = evaluation.TranslationEvaluator(source, target, name="en-de")
    mine, ref = _run(ours, TranslationEvaluator(source, target, name="en-de"), models, tmp_path)
    _assert_scaled(mine, ref)
    assert 0 < mine["en-de_mean_accuracy"] < 1


def test_paraphrase_mining_evaluator_matches_sentence_transformers(models, tmp_path):
    from sentence_transformers.sentence_transformer.evaluation import ParaphraseMiningEvaluator

    texts = _sentences(16, 5)
    texts[1], texts[9] = texts[0] + " a", "the " + texts[3]  # two duplicates the mining should find
    sentences = {f"s{i}": text for i, text in enumerate(texts)}
    duplicates = [("s0", "s1"), ("s1", "s2"), ("s3", "s9"), ("s4", "s12"), ("s7", "s15"), ("s0", "unknown")]
    options = {"duplicates_list": duplicates, "add_transitive_closure": True, "top_k": 3, "name": "pm"}
    ours = evaluation.ParaphraseMiningEvaluator(sentences, **options)
    mine, ref = _run(ours, ParaphraseMiningEvaluator(sentences, **options), models, tmp_path)
    _assert_scaled(mine, ref, raw=("threshold",))
    assert 0 < mine["pm_average_precision"] < 100


def test_reranking_evaluator_matches_sentence_transformers(models, tmp_path):
    from sentence_transformers import util as st_util
    from sentence_transformers.sentence_transformer.evaluation import RerankingEvaluator

    texts = _sentences(30, 6)
    samples = [
        {"query": texts[i], "positive": texts[i + 1 : i + 3], "negative": texts[i + 3 : i + 7]}
        for i in range(0, 25, 6)
    ]
    samples[0]["positive"] = texts[1]  # a single text stands for a list of one
    samples.append({"query": "a cat", "positive": ["a dog"], "negative": []})  # left out by both
    mine, ref = _run(
        evaluation.RerankingEvaluator(samples, at_k=3, name="dev"),
        RerankingEvaluator(samples, at_k=3, name="dev"),
        models,
        tmp_path,
    )
    _assert_scaled(mine, ref)
    few = samples[:2]  # one sample at a time, scored by a similarity_fct on tensors
    ours = evaluation.RerankingEvaluator(few, similarity_fct=sbert.util.dot_score, use_batched_encoding=False)
    theirs = RerankingEvaluator(few, similarity_fct=st_util.dot_score, use_batched_encoding=False)
    _assert_scaled(ours(models[0]), theirs(models[1]))


def test_label_accuracy_evaluator_matches_sentence_transformers(models, tmp_path):
    import torch
    from sentence_transformers import InputExample as Example
    from sentence_transformers.sentence_transformer.evaluation import LabelAccuracyEvaluator
    from sentence_transformers.sentence_transformer.losses import SoftmaxLoss
    from torch.utils.data import DataLoader

    a, b = _sentences(20, 7), _sentences(20, 8)
    labels = np.random.default_rng(9).integers(0, 3, 20).tolist()
    head = SoftmaxLoss(models[1], embedding_dimension=32, num_labels=3)
    ours_head = sbert.losses.SoftmaxLoss(models[0], num_labels=3)
    with torch.no_grad():
        head.classifier.weight.mul_(20)  # larger logits: no near-ties between the two implementations
        ours_head.classifier.load_state_dict(head.classifier.state_dict())
    ours_data = [sbert.InputExample(texts=[x, y], label=z) for x, y, z in zip(a, b, labels)]
    theirs_data = [Example(texts=[x, y], label=z) for x, y, z in zip(a, b, labels)]
    mine, ref = _run(
        evaluation.LabelAccuracyEvaluator(DataLoader(ours_data, batch_size=8), "nli", ours_head),
        LabelAccuracyEvaluator(DataLoader(theirs_data, batch_size=8), "nli", head),
        models,
        tmp_path,
    )
    _assert_scaled(mine, ref)
    assert 0 < mine["nli_accuracy"] < 1


def test_names_and_input_errors(models):
    from sentence_transformers.sentence_transformer import evaluation as st

    assert set(st.__all__) <= set(evaluation.__all__)
    assert (
        evaluation.BaseEvaluator is sbert.Evaluator
        and evaluation.SimilarityFunction is sbert.SimilarityFunction
    )
    with pytest.raises(sbert.InputError, match="teacher_model"):
        evaluation.MSEEvaluator(["a"], ["b"])
    with pytest.raises(sbert.InputError, match="no 'fr' text"):
        evaluation.MSEEvaluatorFromDataFrame([{"en": "a"}], models[0], [("en", "fr")])
    with pytest.raises(sbert.InputError, match="no pair of duplicates"):
        evaluation.ParaphraseMiningEvaluator({"a": "x", "b": "y"}, [("a", "c")])
    with pytest.raises(sbert.InputError, match="no 'negative'"):
        evaluation.RerankingEvaluator([{"query": "q", "positive": "p"}])
    with pytest.raises(sbert.InputError, match="softmax_model"):
        evaluation.LabelAccuracyEvaluator([sbert.InputExample(texts=["a", "b"], label=0)])
    distil = evaluation.MSEEvaluator(["a"], ["b"], teacher_model=models[0])
    with pytest.raises(sbert.InputError, match="32-dimensional and the model.s 128"):
        distil(_WideEncoder(128))


class _WideEncoder:
    """Vectors of another size than the teacher's."""

    def __init__(self, dim):
        self.dim = dim

    def encode(self, texts, **_):
        return np.ones((len(texts), self.dim), dtype=np.float32)


def test_from_input_examples_builds_what_sentence_transformers_builds(models):
    """Classic training scripts build their dev evaluators with ``from_input_examples``."""
    from sentence_transformers import InputExample as Example
    from sentence_transformers.sentence_transformer import evaluation as st_evaluation

    a, b, c = _sentences(12, 21), _sentences(12, 22), _sentences(12, 23)
    cases = {
        "EmbeddingSimilarityEvaluator": ([x, y] for x, y in zip(a, b)),
        "BinaryClassificationEvaluator": ([x, y] for x, y in zip(a, b)),
        "TripletEvaluator": ([x, y, z] for x, y, z in zip(a, b, c)),
    }
    for name, rows in cases.items():
        rows = list(rows)
        ours = getattr(evaluation, name).from_input_examples(
            [sbert.InputExample(texts=t, label=float(i % 2)) for i, t in enumerate(rows)], name="dev"
        )
        theirs = getattr(st_evaluation, name).from_input_examples(
            [Example(texts=t, label=float(i % 2)) for i, t in enumerate(rows)], name="dev"
        )
        mine, ref = ours(models[0]), theirs(models[1])
        assert ours.primary_metric == theirs.primary_metric, name
        assert all(key.endswith("_mcc") for key in set(ref) - set(mine)), name  # sbert reports no MCC
        for key, value in ref.items():  # float32 embeddings: correlations agree to about 1e-6
            if key.endswith("_mcc"):
                continue
            expected = value
            assert mine[key] == pytest.approx(expected, abs=1e-4), key
    with pytest.raises(sbert.InputError, match="needs 3"):
        evaluation.TripletEvaluator.from_input_examples([sbert.InputExample(texts=["a", "b"])])
    with pytest.raises(sbert.InputError, match="not built from InputExamples"):
        evaluation.InformationRetrievalEvaluator.from_input_examples([])


def test_evaluator_helpers_and_settings_as_in_sentence_transformers(teachers):
    from sentence_transformers.sentence_transformer import evaluation as reference

    rng = np.random.default_rng(0)
    scores, labels = rng.normal(size=40).astype(np.float32), rng.integers(0, 2, 40)
    for higher in (True, False):  # similarities, or distances (lower is more similar)
        for helper in ("find_best_acc_and_threshold", "find_best_f1_and_threshold"):
            ours = getattr(evaluation.BinaryClassificationEvaluator, helper)(scores, labels, higher)
            theirs = getattr(reference.BinaryClassificationEvaluator, helper)(scores, labels, higher)
            np.testing.assert_allclose(ours, theirs, rtol=1e-6)
    # a margin per similarity function (the others 0), a typo refused; get_config_dict as there
    a, p, n = _sentences(12, 1), _sentences(12, 2), _sentences(12, 3)
    for margin in ({"cosine": 0.05, "euclidean": 0.5}, 0.02):
        options = {"margin": margin, "similarity_fn_names": ["cosine", "euclidean"], "truncate_dim": 16}
        ours = evaluation.TripletEvaluator(a, p, n, **options)
        theirs = reference.TripletEvaluator(a, p, n, **options)
        assert ours(teachers[0]) == pytest.approx(theirs(teachers[1]))
        assert ours.get_config_dict() == theirs.get_config_dict()
    with pytest.raises(ValueError, match="unexpected keys \\['cosien'\\]"):
        evaluation.TripletEvaluator(a, p, n, margin={"cosien": 0.5})
    # ParaphraseMiningEvaluator's duplicates (both directions, closure) and their count
    texts = dict(enumerate(_sentences(4, 4)))
    ours = evaluation.ParaphraseMiningEvaluator(texts, [(0, 1), (1, 2)], add_transitive_closure=True)
    theirs = reference.ParaphraseMiningEvaluator(texts, [(0, 1), (1, 2)], add_transitive_closure=True)
    assert ours.total_num_duplicates == theirs.total_num_duplicates == 3
    assert ours.duplicates[2][0] is theirs.duplicates[2][0] is True and not ours.duplicates[0][3]
    assert ours.get_config_dict() == theirs.get_config_dict()


def test_retrieval_and_triplet_evaluators_embed_queries_and_documents_with_their_prompts(
    tiny_st_factory, tmp_path
):
    """A model with query and document prompts: the information-retrieval and triplet evaluators embed with
    encode_query / encode_document, as sentence-transformers' do, so the numbers are its numbers; and the
    IR evaluator's score_functions, main_score_function and prediction files are its."""
    import json

    from sentence_transformers import SentenceTransformer as Reference
    from sentence_transformers import util as st_util
    from sentence_transformers.sentence_transformer import evaluation as reference

    import sbert.util as our_util

    path = tiny_st_factory(classic_pooling(32, "mean"))
    prompts = {"query": "find me: ", "document": "a passage about "}
    ours = sbert.SentenceTransformer(path, device="cpu", backend="torch", prompts=prompts)
    theirs = Reference(str(path), device="cpu", prompts=prompts)
    queries = dict(enumerate(_sentences(6, 7)))
    corpus = {f"d{i}": text for i, text in enumerate(_sentences(20, 8))}
    relevant = {q: {f"d{q}", f"d{q + 6}"} for q in queries}
    mine = evaluation.InformationRetrievalEvaluator(queries, corpus, relevant, name="p")
    ref = reference.InformationRetrievalEvaluator(queries, corpus, relevant, name="p")
    assert mine(ours) == pytest.approx(ref(theirs), abs=1e-6)
    plain = evaluation.InformationRetrievalEvaluator(queries, corpus, relevant, name="p")
    assert plain(sbert.SentenceTransformer(path, device="cpu", backend="torch")) != pytest.approx(mine(ours))

    a, p, n = _sentences(12, 1), _sentences(12, 2), _sentences(12, 3)
    assert evaluation.TripletEvaluator(a, p, n)(ours) == pytest.approx(
        reference.TripletEvaluator(a, p, n)(theirs)
    )
    older = {"main_distance_function": "euclidean", "similarity_fn_names": ["cosine", "euclidean"]}
    mine, ref = evaluation.TripletEvaluator(a, p, n, **older), reference.TripletEvaluator(a, p, n, **older)
    assert mine(ours) == pytest.approx(ref(theirs)) and mine.primary_metric == ref.primary_metric

    for main in (None, "dot"):
        options = {"main_score_function": main, "write_predictions": True, "name": "fns"}
        mine = evaluation.InformationRetrievalEvaluator(
            queries,
            corpus,
            relevant,
            score_functions={"cos_sim": our_util.cos_sim, "dot": our_util.dot_score},
            **options,
        )
        ref = reference.InformationRetrievalEvaluator(
            queries,
            corpus,
            relevant,
            score_functions={"cos_sim": st_util.cos_sim, "dot": st_util.dot_score},
            **options,
        )
        assert mine(ours, tmp_path / "ours") == pytest.approx(ref(theirs, str(tmp_path / "theirs")), abs=1e-6)
        assert mine.primary_metric == ref.primary_metric
    for function in ("cos_sim", "dot"):
        name = f"Information-Retrieval_evaluation_fns_predictions_{function}.jsonl"
        rows = [json.loads(line) for line in (tmp_path / "ours" / name).read_text().splitlines()]
        ref_rows = [json.loads(line) for line in (tmp_path / "theirs" / name).read_text().splitlines()]
        assert [(r["query_id"], r["query"]) for r in rows] == [(r["query_id"], r["query"]) for r in ref_rows]
        for row, ref_row in zip(rows, ref_rows):
            assert [h["corpus_id"] for h in row["results"][:10]] == [
                h["corpus_id"] for h in ref_row["results"][:10]
            ]
            np.testing.assert_allclose(
                [h["score"] for h in row["results"][:10]],
                [h["score"] for h in ref_row["results"][:10]],
                atol=1e-5,
            )


@pytest.mark.parametrize("precision", ["float32", "int8", "uint8", "binary", "ubinary"])
def test_embedding_similarity_of_quantized_embeddings_as_sentence_transformers(tiny_st_factory, precision):
    """precision= scores the normalized, quantized embeddings (int8 ranges from both columns together, bits
    unpacked), as sentence-transformers' evaluator: the same metrics (int8 within a bucket's rounding), CSV
    file and config."""
    from sentence_transformers import SentenceTransformer as Reference
    from sentence_transformers.sentence_transformer import evaluation as reference

    path = tiny_st_factory(classic_pooling(32, "mean"))  # (the CLS teacher's cosines nearly tie: ranks flip)
    models = (
        sbert.SentenceTransformer(path, device="cpu", backend="torch"),
        Reference(str(path), device="cpu"),
    )
    a, b = _sentences(16, 11), _sentences(16, 12)
    scores = np.linspace(0, 5, 16)
    options = {
        "precision": precision,
        "similarity_fn_names": ["cosine", "dot", "euclidean", "manhattan"],
        "name": "q",
    }
    ours = evaluation.EmbeddingSimilarityEvaluator(a, b, scores, **options)
    theirs = reference.EmbeddingSimilarityEvaluator(a, b, scores, **options)
    found, expected = ours(models[0]), theirs(models[1])
    assert set(found) == set(expected)
    tolerance = 1e-3 if precision in ("int8", "uint8") else 1e-6
    for key, value in expected.items():
        assert found[key] == pytest.approx(value, abs=tolerance), key
    assert ours.csv_file == theirs.csv_file and ours.get_config_dict() == theirs.get_config_dict()
    plain = evaluation.EmbeddingSimilarityEvaluator(a, b, scores, similarity_fn_names=["dot"], name="q")(
        models[0]
    )
    if precision != "float32":  # quantized scores are not the float ones
        assert plain["q_spearman_dot"] != pytest.approx(found["q_spearman_dot"], abs=1e-9)
