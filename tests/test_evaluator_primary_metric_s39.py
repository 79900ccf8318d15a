"""``primary_metric`` and ``greater_is_better`` of every evaluator of sentence-transformers 6.3 (dense,
cross-encoder, sparse, NanoBEIR served offline), read as user code reads them: right after construction (to
set ``metric_for_best_model``, or in a subclass's ``if self.primary_metric is None``), after a first call, and
after a second call on a model with another similarity function (a cross-encoder classifier: on a model with
three labels). sbert gives sentence-transformers' value at each point; a differential fuzzer found 370
evaluators whose values before the first call differed (sbert held the name-prefixed key from the start)."""

from __future__ import annotations

import importlib
import warnings
from functools import partial

import numpy as np
import pytest
from conftest import WORDS, build_tiny_classifier, classic_pooling, random_sentences

import sbert

# torch's one-time notices, raised by sentence-transformers' own sparse similarity code
pytestmark = [
    pytest.mark.filterwarnings("ignore:Sparse CSR tensor support is in beta:UserWarning"),
    pytest.mark.filterwarnings("ignore:Sparse invariant checks are implicitly disabled:UserWarning"),
]

MISSING = "<no attribute>"


def texts(n, seed):
    return random_sentences(WORDS, n, seed)


def state(evaluator) -> tuple:
    """What a script reads: ``primary_metric`` and ``greater_is_better`` (MISSING where there is none)."""
    return tuple(
        getattr(evaluator, attribute, MISSING) for attribute in ("primary_metric", "greater_is_better")
    )


def quietly(call):
    """Without the warnings scikit-learn, scipy and the deprecated classes raise: warnings are errors here."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return call()


# ---- the data of each evaluator ----------------------------------------------------------------------

LABELS = [i % 2 for i in range(12)]
QUERIES = {f"q{i}": t for i, t in enumerate(texts(4, 21))}
CORPUS = {f"d{i}": t for i, t in enumerate(texts(10, 22))}
RELEVANT = {"q0": {"d1"}, "q1": {"d2", "d3"}, "q2": {"d5"}, "q3": {"d0", "d9"}}
SAMPLES = [
    {"query": q, "positive": [texts(1, 30 + i)[0]], "negative": texts(3, 40 + i)}
    for i, q in enumerate(texts(4, 23))
]
PAIRS = list(zip(texts(12, 1), texts(12, 2)))
STS = (texts(12, 1), texts(12, 2), list(np.linspace(0, 1, 12)))
BINARY = (texts(12, 1), texts(12, 2), LABELS)
TRIPLETS = (texts(10, 3), texts(10, 4), texts(10, 5))
TRANSLATIONS = (texts(10, 6), texts(10, 7))


def dense(lib, kind, *args, **kwargs):
    return getattr(importlib.import_module(f"{lib.__name__}.sentence_transformer.evaluation"), kind)(
        *args, **kwargs
    )


def cross(lib, kind, *args, **kwargs):
    module = importlib.import_module(f"{lib.__name__}.cross_encoder.evaluation")
    return quietly(lambda: getattr(module, kind)(*args, **kwargs))


def sparse(lib, kind, *args, **kwargs):
    return getattr(importlib.import_module(f"{lib.__name__}.sparse_encoder.evaluation"), kind)(
        *args, **kwargs
    )


def util_of(lib):
    return importlib.import_module(f"{lib.__name__}.util")


def label_accuracy(lib, models, name):
    import torch
    from sentence_transformers import InputExample
    from sentence_transformers.sentence_transformer.losses import SoftmaxLoss

    model = models[lib.__name__]
    if lib is sbert:
        head = sbert.losses.SoftmaxLoss(model, num_labels=3)
    else:
        head = SoftmaxLoss(model, embedding_dimension=32, num_labels=3)
    torch.manual_seed(0)
    example = sbert.InputExample if lib is sbert else InputExample
    data = [example(texts=[a, b], label=i % 3) for i, (a, b) in enumerate(PAIRS)]
    return dense(lib, "LabelAccuracyEvaluator", torch.utils.data.DataLoader(data, batch_size=4), name, head)


def rankings():
    first = [
        {"query_id": "q1", "query": "a", "positive": ["d1"], "documents": ["d1", "d2", "d3"]},
        {"query_id": "q2", "query": "b", "positive": ["e1"], "documents": ["e2", "e1", "e3"]},
    ]
    second = [{**first[0], "documents": ["d2", "d1"]}, {**first[1], "documents": ["e1", "e2"]}]
    return first, second


# case id -> (model kind, builder(lib, models) -> evaluator)
DENSE = {
    "similarity": lambda lib, m: dense(lib, "EmbeddingSimilarityEvaluator", *STS, name="sts"),
    "similarity-unnamed": lambda lib, m: dense(lib, "EmbeddingSimilarityEvaluator", *STS),
    "similarity-main": lambda lib, m: dense(
        lib, "EmbeddingSimilarityEvaluator", *STS, main_similarity="cosine", name="sts"
    ),
    "similarity-two": lambda lib, m: dense(
        lib, "EmbeddingSimilarityEvaluator", *STS, similarity_fn_names=["cosine", "dot"], name="sts"
    ),
    "binary": lambda lib, m: dense(lib, "BinaryClassificationEvaluator", *BINARY, name="bc"),
    "binary-four": lambda lib, m: dense(
        lib,
        "BinaryClassificationEvaluator",
        *BINARY,
        similarity_fn_names=["cosine", "dot", "euclidean", "manhattan"],
        name="bc",
    ),
    "triplet": lambda lib, m: dense(lib, "TripletEvaluator", *TRIPLETS, name="tri"),
    "triplet-main": lambda lib, m: dense(
        lib, "TripletEvaluator", *TRIPLETS, main_similarity_function="dot", name="tri"
    ),
    "retrieval": lambda lib, m: dense(
        lib, "InformationRetrievalEvaluator", QUERIES, CORPUS, RELEVANT, name="ir"
    ),
    "retrieval-functions": lambda lib, m: dense(
        lib,
        "InformationRetrievalEvaluator",
        QUERIES,
        CORPUS,
        RELEVANT,
        score_functions={"cosine": util_of(lib).cos_sim, "dot": util_of(lib).dot_score},
        main_score_function="dot",
        name="ir",
    ),
    "nanobeir": lambda lib, m: dense(lib, "NanoBEIREvaluator", dataset_names=["msmarco", "nq"]),
    "mse": lambda lib, m: dense(
        lib, "MSEEvaluator", *TRANSLATIONS, teacher_model=m[lib.__name__], name="mse"
    ),
    "mse-dataframe": lambda lib, m: dense(
        lib,
        "MSEEvaluatorFromDataFrame",
        [{"en": a, "de": b} for a, b in PAIRS],
        m[lib.__name__],
        [("en", "de")],
        name="df",
    ),
    "paraphrase-mining": lambda lib, m: dense(
        lib,
        "ParaphraseMiningEvaluator",
        {f"s{i}": t for i, t in enumerate(texts(10, 8))},
        [("s0", "s1"), ("s2", "s3")],
        name="pm",
    ),
    "reranking": lambda lib, m: dense(lib, "RerankingEvaluator", SAMPLES, name="rr"),
    "translation": lambda lib, m: dense(lib, "TranslationEvaluator", *TRANSLATIONS, name="tr"),
    "translation-unnamed": lambda lib, m: dense(lib, "TranslationEvaluator", *TRANSLATIONS),
    "label-accuracy": lambda lib, m: label_accuracy(lib, m, "nli"),
    "sequential": lambda lib, m: dense(
        lib,
        "SequentialEvaluator",
        [
            dense(lib, "TranslationEvaluator", *TRANSLATIONS, name="tr"),
            dense(lib, "EmbeddingSimilarityEvaluator", *STS, name="sts"),
        ],
    ),
}
CROSS = {
    "ce-classification": lambda lib, m: cross(
        lib, "CrossEncoderClassificationEvaluator", PAIRS, LABELS, name="cls"
    ),
    "ce-correlation": lambda lib, m: cross(
        lib, "CrossEncoderCorrelationEvaluator", PAIRS, STS[2], name="corr"
    ),
    "ce-reranking": lambda lib, m: cross(lib, "CrossEncoderRerankingEvaluator", SAMPLES, name="rr"),
    "ce-nanobeir": lambda lib, m: cross(lib, "CrossEncoderNanoBEIREvaluator", ["scifact"], rerank_k=4),
    "CEBinaryAccuracyEvaluator": lambda lib, m: cross(
        lib, "CEBinaryAccuracyEvaluator", PAIRS, LABELS, name="a"
    ),
    "CEBinaryClassificationEvaluator": lambda lib, m: cross(
        lib, "CEBinaryClassificationEvaluator", PAIRS, LABELS, name="b"
    ),
    "CECorrelationEvaluator": lambda lib, m: cross(lib, "CECorrelationEvaluator", PAIRS, STS[2], name="c"),
    "CEF1Evaluator": lambda lib, m: cross(lib, "CEF1Evaluator", PAIRS, LABELS, name="f"),
    "CERerankingEvaluator": lambda lib, m: cross(lib, "CERerankingEvaluator", SAMPLES, name="r"),
    "CESoftmaxAccuracyEvaluator": lambda lib, m: cross(
        lib, "CESoftmaxAccuracyEvaluator", PAIRS, LABELS, name="s"
    ),
}


def multi(lib, kind, *args, **kwargs):
    module = importlib.import_module(f"{lib.__name__}.multi_vector_encoder.evaluation")
    return getattr(module, kind)(*args, **kwargs)


MULTI_VECTOR = {
    "mv-triplet": lambda lib, m: multi(lib, "MultiVectorTripletEvaluator", *TRIPLETS, name="tri"),
    "mv-triplet-both": lambda lib, m: multi(
        lib, "MultiVectorTripletEvaluator", *TRIPLETS, similarity_fn_names=["maxsim", "meanmaxsim"], name="t"
    ),
    "mv-reranking": lambda lib, m: multi(lib, "MultiVectorRerankingEvaluator", SAMPLES, name="rr"),
    "mv-retrieval": lambda lib, m: multi(
        lib, "MultiVectorInformationRetrievalEvaluator", QUERIES, CORPUS, RELEVANT, name="ir"
    ),
    "mv-distillation": lambda lib, m: multi(
        lib,
        "MultiVectorDistillationEvaluator",
        texts(4, 9),
        [texts(3, 10 + i) for i in range(4)],
        np.linspace(0, 1, 12).reshape(4, 3).tolist(),
        name="kd",
    ),
    "mv-nanobeir": lambda lib, m: multi(lib, "MultiVectorNanoBEIREvaluator", dataset_names=["msmarco"]),
}

# the classification evaluators, called a second time on a model with three labels
CLASSIFIERS = {
    "ce-classification",
    "CEBinaryAccuracyEvaluator",
    "CEBinaryClassificationEvaluator",
    "CEF1Evaluator",
    "CESoftmaxAccuracyEvaluator",
}
SPARSE = {
    "sparse-similarity": lambda lib, m: sparse(lib, "SparseEmbeddingSimilarityEvaluator", *STS, name="sts"),
    "sparse-binary": lambda lib, m: sparse(lib, "SparseBinaryClassificationEvaluator", *BINARY, name="bc"),
    "sparse-triplet": lambda lib, m: sparse(lib, "SparseTripletEvaluator", *TRIPLETS, name="tri"),
    "sparse-translation": lambda lib, m: sparse(lib, "SparseTranslationEvaluator", *TRANSLATIONS, name="tr"),
    "sparse-reranking": lambda lib, m: sparse(lib, "SparseRerankingEvaluator", SAMPLES, name="rr"),
    "sparse-retrieval": lambda lib, m: sparse(
        lib, "SparseInformationRetrievalEvaluator", QUERIES, CORPUS, RELEVANT, name="ir"
    ),
    "sparse-mse": lambda lib, m: sparse(
        lib, "SparseMSEEvaluator", *TRANSLATIONS, teacher_model=m[lib.__name__], name="mse"
    ),
    "sparse-nanobeir": lambda lib, m: sparse(lib, "SparseNanoBEIREvaluator", dataset_names=["msmarco"]),
    "fusion": lambda lib, m: sparse(lib, "ReciprocalRankFusionEvaluator", *rankings(), name="hybrid"),
}


# ---- models ------------------------------------------------------------------------------------------


@pytest.fixture
def hub_nanobeir(monkeypatch):
    """``datasets.load_dataset`` answering for NanoBEIR's subsets offline, for both libraries."""
    import datasets

    def load_dataset(path, subset, split):
        if subset in ("corpus", "queries"):
            rows = CORPUS if subset == "corpus" else QUERIES
            return datasets.Dataset.from_dict({"_id": list(rows), "text": list(rows.values())})
        if subset == "qrels":
            pairs = [(q, d) for q, docs in RELEVANT.items() for d in sorted(docs)]
            return datasets.Dataset.from_dict(
                {"query-id": [q for q, _ in pairs], "corpus-id": [d for _, d in pairs]}
            )
        return datasets.Dataset.from_dict(
            {"query-id": list(QUERIES), "corpus-ids": [list(CORPUS)[:5]] * len(QUERIES)}
        )

    monkeypatch.setattr(datasets, "load_dataset", load_dataset)


@pytest.fixture(scope="module")
def dense_models(tiny_st_factory):
    from sentence_transformers import SentenceTransformer as Reference

    path = tiny_st_factory(classic_pooling(32, "mean"))
    return lambda: {
        "sbert": sbert.SentenceTransformer(path, device="cpu"),
        "sentence_transformers": Reference(str(path), device="cpu"),
    }


@pytest.fixture(scope="module")
def cross_folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("primary-ce")
    return build_tiny_classifier(root / "one", num_labels=1), build_tiny_classifier(
        root / "three", num_labels=3
    )


@pytest.fixture(scope="module")
def sparse_folder(masked_lm, tmp_path_factory):
    from sentence_transformers import SparseEncoder as Reference

    folder = tmp_path_factory.mktemp("primary-sparse") / "splade"
    Reference(str(masked_lm), device="cpu").save(str(folder))
    return folder


def as_sbert_holds_it(seen: tuple) -> tuple:
    """sentence-transformers' state where sbert keeps an attribute it lacks: its CrossEncoderClassification
    and CrossEncoderCorrelation evaluators skip the base ``__init__``, so they have no ``greater_is_better``
    (the trainers read ``getattr(evaluator, "greater_is_better", True)``: True) and Classification has no
    ``primary_metric`` before a call (read as ``getattr(evaluator, "primary_metric", None)``: None)."""
    primary, greater = seen
    return (None if primary == MISSING else primary, True if greater == MISSING else greater)


def states_of(evaluator, calls) -> list:
    """The evaluator's state when built, then after each of ``calls`` its state and the keys returned."""
    seen: list = [state(evaluator)]
    for call in calls:
        keys = sorted(quietly(call))
        seen.append((state(evaluator), keys))
    return seen


def call_twice(case, builders, first, second):
    """sbert's and sentence-transformers' states of the case's evaluator: built, after a call on ``first``
    models, after another on ``second`` models ({library name: model}); the fusion evaluator takes none."""
    import sentence_transformers

    states = {}
    for lib in (sbert, sentence_transformers):
        evaluator = builders[case](lib, first)
        models = [first[lib.__name__], second[lib.__name__]]
        calls = [evaluator if case == "fusion" else partial(evaluator, model) for model in models]
        states[lib.__name__] = states_of(evaluator, calls)
    built, *called = states["sentence_transformers"]
    theirs = [as_sbert_holds_it(built)] + [(as_sbert_holds_it(seen), keys) for seen, keys in called]
    return states["sbert"], theirs


@pytest.mark.usefixtures("hub_nanobeir")
@pytest.mark.parametrize("case", DENSE)
def test_dense_evaluators(case, dense_models):
    """The second call on models whose similarity function is dot (sentence-transformers keeps the first
    model's function where none was given: EmbeddingSimilarity, BinaryClassification, Triplet)."""
    first, second = dense_models(), dense_models()
    for model in second.values():
        model.similarity_fn_name = "dot"
    ours, theirs = call_twice(case, DENSE, first, second)
    assert ours == theirs


@pytest.mark.usefixtures("hub_nanobeir")
@pytest.mark.parametrize("case", CROSS)
def test_cross_encoder_evaluators(case, cross_folders):
    """The classifiers' second call on a model with three labels (the primary metric becomes f1_macro)."""
    from sentence_transformers.cross_encoder import CrossEncoder as Reference

    def models(folder):
        return {
            "sbert": sbert.CrossEncoder(folder, device="cpu"),
            "sentence_transformers": Reference(str(folder), device="cpu"),
        }

    one, three = cross_folders
    ours, theirs = call_twice(case, CROSS, models(one), models(three if case in CLASSIFIERS else one))
    assert ours == theirs


@pytest.mark.usefixtures("hub_nanobeir")
@pytest.mark.parametrize("case", SPARSE)
def test_sparse_evaluators(case, sparse_folder):
    from sentence_transformers import SparseEncoder as Reference

    from sbert.sparse_encoder import SparseEncoder

    def models():
        return {
            "sbert": SparseEncoder(sparse_folder, device="cpu"),
            "sentence_transformers": Reference(str(sparse_folder), device="cpu"),
        }

    first, second = models(), models()
    for model in second.values():  # the SparseEncoder's own is dot
        model.similarity_fn_name = "cosine"
    ours, theirs = call_twice(case, SPARSE, first, second)
    assert ours == theirs


@pytest.fixture(scope="module")
def multi_vector_folder(tiny_bert, tmp_path_factory):
    from sentence_transformers import MultiVectorEncoder as Reference

    folder = tmp_path_factory.mktemp("primary-mv") / "mv"
    Reference(str(tiny_bert), device="cpu").save(str(folder))
    return folder


@pytest.mark.usefixtures("hub_nanobeir")
@pytest.mark.parametrize("case", MULTI_VECTOR)
def test_multi_vector_evaluators(case, multi_vector_folder):
    """The second call on models whose similarity function is meanmaxsim."""
    from sentence_transformers import MultiVectorEncoder as Reference

    from sbert.multi_vector_encoder import MultiVectorEncoder

    def models():
        return {
            "sbert": MultiVectorEncoder(multi_vector_folder, device="cpu"),
            "sentence_transformers": Reference(str(multi_vector_folder), device="cpu"),
        }

    first, second = models(), models()
    for model in second.values():
        model.similarity_fn_name = "meanmaxsim"
    ours, theirs = call_twice(case, MULTI_VECTOR, first, second)
    assert ours == theirs
