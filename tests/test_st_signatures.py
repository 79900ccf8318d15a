"""The signatures client code reads off the model classes' methods, as sentence-transformers 6.3 has them.

Libraries look before they call: ``"chunk_size" in inspect.signature(model.encode).parameters``,
``{k: v for k, v in kwargs.items() if k in sig.parameters}``, or they pass arguments by position. Every name
sentence-transformers' method has must be in sbert's, its positional parameters in the same order (so a
positional call means the same), and positional calls must give sentence-transformers' numbers."""

from __future__ import annotations

import inspect
import logging

import numpy as np
import pytest
import sentence_transformers as st
import torch
from conftest import build_tiny_classifier, classic_pooling

import sbert

TEXTS = ["a dog runs in the park", "the cat sat on the mat", "red car drives fast"]
PAIRS = [("a dog", "a dog runs in the park"), ("a cat", "red car drives fast"), ("sun", "it is sunny")]
METHODS = {
    "SentenceTransformer": ["encode", "encode_query", "encode_document"],
    "SparseEncoder": ["encode", "encode_query", "encode_document"],
    "MultiVectorEncoder": ["encode", "encode_query", "encode_document"],
    "CrossEncoder": ["predict", "rank"],
}
POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)


def positional(signature: inspect.Signature) -> list[str]:
    return [name for name, p in signature.parameters.items() if p.kind in POSITIONAL]


@pytest.mark.parametrize(
    ("kind", "method"), [(kind, method) for kind, methods in METHODS.items() for method in methods]
)
def test_methods_declare_sentence_transformers_parameters_in_its_order(kind, method):
    want = inspect.signature(getattr(getattr(st, kind), method))
    got = inspect.signature(getattr(getattr(sbert, kind), method))
    assert set(want.parameters) - {"kwargs"} <= set(got.parameters)
    takes_kwargs = inspect.Parameter.VAR_KEYWORD
    if any(p.kind is takes_kwargs for p in want.parameters.values()):
        assert any(p.kind is takes_kwargs for p in got.parameters.values())
    # a positional call binds each value to the same name; sbert's own options come after, by keyword
    assert positional(got)[: len(positional(want))] == positional(want)
    for name in positional(want)[1:]:  # the defaults a caller reads (batch_size: see below)
        if not (kind == "SentenceTransformer" and name == "batch_size"):
            assert got.parameters[name].default == want.parameters[name].default, name


def test_encode_batch_size_default_is_sbert_automatic():
    """sbert's ``batch_size=None`` picks the batch by precision and device (64 texts and a token budget on a
    CPU); sentence-transformers' 32 would be a slower default with the same numbers."""
    assert inspect.signature(sbert.SentenceTransformer.encode).parameters["batch_size"].default is None


@pytest.fixture(scope="module")
def models(tiny_st_factory, tmp_path_factory, masked_lm):
    embedder = str(tiny_st_factory(classic_pooling(32, "mean")))
    classifier = str(build_tiny_classifier(tmp_path_factory.mktemp("sigs") / "ce"))
    return {
        "SentenceTransformer": (sbert.SentenceTransformer(embedder), st.SentenceTransformer(embedder)),
        "CrossEncoder": (sbert.CrossEncoder(classifier), st.CrossEncoder(classifier)),
        "SparseEncoder": (sbert.SparseEncoder(str(masked_lm)), st.SparseEncoder(str(masked_lm))),
    }


def dense(value):
    value = torch.as_tensor(np.asarray(value) if isinstance(value, list) else value)
    return value.to_dense() if value.is_sparse else value


@pytest.mark.parametrize("method", ["encode", "encode_query", "encode_document"])
def test_positional_encode_calls_give_sentence_transformers_results(models, method):
    ours, ref = models["SentenceTransformer"]
    # inputs, prompt_name, prompt, batch_size, show_progress_bar, output_value, precision, convert_to_numpy,
    # convert_to_tensor
    args = (TEXTS, None, "query: ", 2, False, "sentence_embedding", "float32", True, True)
    got, want = getattr(ours, method)(*args), getattr(ref, method)(*args)
    assert isinstance(got, torch.Tensor)
    torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-4)
    # ..., device, normalize_embeddings, truncate_dim
    args = (TEXTS, None, None, 8, None, "sentence_embedding", "float32", True, False, None, True, 16)
    got, want = getattr(ours, method)(*args), getattr(ref, method)(*args)
    assert got.shape == (3, 16)
    np.testing.assert_allclose(got, want, atol=1e-5)


@pytest.mark.parametrize("method", ["encode", "encode_query", "encode_document"])
def test_positional_sparse_calls_give_sentence_transformers_results(models, method):
    ours, ref = models["SparseEncoder"]
    # inputs, prompt_name, prompt, batch_size, show_progress_bar, convert_to_tensor, convert_to_sparse_tensor
    args = (TEXTS, None, None, 2, False, True, False)
    got, want = getattr(ours, method)(*args), getattr(ref, method)(*args)
    assert not got.is_sparse
    torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-4)


def test_positional_predict_and_rank_give_sentence_transformers_results(models):
    ours, ref = models["CrossEncoder"]
    args = (PAIRS, None, None, 8)  # inputs, prompt_name, prompt, batch_size
    np.testing.assert_allclose(ours.predict(*args), ref.predict(*args), atol=1e-5)
    # ..., show_progress_bar, activation_fn, apply_softmax, convert_to_numpy, convert_to_tensor
    args = (PAIRS, None, None, 2, False, torch.nn.Identity(), False, True, True)
    torch.testing.assert_close(ours.predict(*args), ref.predict(*args), atol=1e-5, rtol=1e-4)
    docs = [doc for _, doc in PAIRS]
    args = ("a dog", docs, 2, True, None, None, 8)  # top_k, return_documents, prompts, batch_size
    got, want = ours.rank(*args), ref.rank(*args)
    assert [r["corpus_id"] for r in got] == [r["corpus_id"] for r in want]
    assert [r["text"] for r in got] == [r["text"] for r in want]


@pytest.mark.parametrize(
    ("kind", "method"),
    [
        ("SentenceTransformer", "encode"),
        ("SentenceTransformer", "encode_query"),
        ("SparseEncoder", "encode_document"),
        ("CrossEncoder", "predict"),
    ],
)
def test_older_sentences_keyword_works_and_yields_to_inputs(models, kind, method, monkeypatch, caplog):
    """``sentences=`` is taken for ``inputs`` (logged once, sentence-transformers' words); given beside
    ``inputs=`` it is dropped, as sentence-transformers' ``deprecated_kwargs`` drops it."""
    ours, ref = models[kind]
    texts = PAIRS if kind == "CrossEncoder" else TEXTS
    other = PAIRS[:1] if kind == "CrossEncoder" else TEXTS[:1]
    monkeypatch.setattr("sbert._errors._LOGGED", set())
    with caplog.at_level(logging.WARNING):
        got = getattr(ours, method)(sentences=texts)
    assert "The `sentences` argument was renamed" in caplog.text
    want = getattr(ref, method)(sentences=texts)
    torch.testing.assert_close(dense(got), dense(want), atol=1e-5, rtol=1e-4)
    both = getattr(ours, method)(inputs=texts, sentences=other)
    torch.testing.assert_close(dense(both), dense(getattr(ref, method)(inputs=texts, sentences=other)))
    with pytest.raises(TypeError):
        getattr(ours, method)()


# Constructors and functions scripts call positionally: (module under sentence_transformers / sbert, name)
CALLABLES = [
    *[
        ("sentence_transformer.losses", n)
        for n in ("AdaptiveLayerLoss", "MatryoshkaLoss", "Matryoshka2dLoss")
    ],
    *[
        ("evaluation", n)
        for n in (
            "BinaryClassificationEvaluator",
            "EmbeddingSimilarityEvaluator",
            "InformationRetrievalEvaluator",
            "TripletEvaluator",
            "NanoBEIREvaluator",
        )
    ],
    *[
        ("sparse_encoder.evaluation", f"Sparse{n}Evaluator")
        for n in (
            "EmbeddingSimilarity",
            "InformationRetrieval",
            "BinaryClassification",
            "MSE",
            "NanoBEIR",
            "Triplet",
            "Translation",
            "Reranking",
        )
    ],
    *[
        ("cross_encoder.evaluation", n)
        for n in (
            "CrossEncoderCorrelationEvaluator",
            "CrossEncoderRerankingEvaluator",
            "CERerankingEvaluator",
            "CECorrelationEvaluator",
            "CEBinaryClassificationEvaluator",
        )
    ],
    ("multi_vector_encoder.evaluation", "MultiVectorRerankingEvaluator"),
    *[
        ("", f"{n}Trainer")
        for n in ("SentenceTransformer", "CrossEncoder", "SparseEncoder", "MultiVectorEncoder")
    ],
    ("util", "mine_hard_negatives"),
    ("", "SentenceTransformer.fit"),
    *[
        ("", f"{n}.tokenize")
        for n in ("SentenceTransformer", "CrossEncoder", "SparseEncoder", "MultiVectorEncoder")
    ],
]
# Defaults sbert keeps on purpose (the results are the same): evaluators embed 64 texts a batch; None for
# the NanoBEIR cut-offs and corpus_chunk_size means the retrieval evaluator's own (the same values, the
# whole corpus at once); 'deprecated' is sentence-transformers' marker where sbert has None; mining picks
# faiss when installed (exact search) and prints statistics only when asked; fit's None is torch's AdamW
# (no torch import for a default).
OWN_DEFAULTS = {
    "batch_size": {"BinaryClassification", "EmbeddingSimilarity", "InformationRetrieval", "Triplet"},
    "corpus_chunk_size": {"InformationRetrieval"},
    **dict.fromkeys(
        ("mrr_at_k", "ndcg_at_k", "accuracy_at_k", "precision_recall_at_k", "map_at_k"), {"NanoBEIR"}
    ),
    "main_distance_function": {"Triplet"},
    "use_faiss": {"mine_hard_negatives"},
    "verbose": {"mine_hard_negatives"},
    "optimizer_class": {"fit"},
}


def _resolve(root: str, module: str, name: str):
    import importlib

    obj = importlib.import_module(f"{root}.{module}" if module else root)
    for part in name.split("."):
        obj = getattr(obj, part)
    return inspect.signature(obj.__init__ if inspect.isclass(obj) else obj)


def _own_default(name: str, parameter: str) -> bool:
    return any(tag in name for tag in OWN_DEFAULTS.get(parameter, ()))


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize(("module", "name"), CALLABLES, ids=[n for _, n in CALLABLES])
def test_constructors_take_sentence_transformers_parameters_in_its_order(module, name):
    """Every parameter name sentence-transformers 6.3 declares is sbert's too, its positional parameters
    come first in the same order (``MatryoshkaLoss(model, loss, [768, 512])``,
    ``InformationRetrievalEvaluator(queries, corpus, relevant_docs, 50000, [10])``,
    ``SentenceTransformerTrainer(model, args, train, eval, loss)`` bind as there), with its defaults."""
    want, got = _resolve("sentence_transformers", module, name), _resolve("sbert", module, name)
    variadic = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    named = {n for n, p in want.parameters.items() if p.kind not in variadic and n != "self"}
    assert named <= set(got.parameters), sorted(named - set(got.parameters))
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in want.parameters.values()):
        assert any(p.kind is inspect.Parameter.VAR_KEYWORD for p in got.parameters.values())
    ours, theirs = positional(got), positional(want)
    if "NanoBEIR" in name:  # sbert's first, folders, takes what dataset_names takes (NanoBEIR set names)
        assert (ours[:2], theirs[:2]) == (["self", "folders"], ["self", "dataset_names"])
        ours, theirs = ours[2:], theirs[2:]
    assert ours[: len(theirs)] == theirs
    for parameter in named:
        default, mine = want.parameters[parameter].default, got.parameters[parameter].default
        if isinstance(default, list) and isinstance(mine, tuple):
            mine = list(mine)
        if not _own_default(name, parameter):
            assert mine is default or mine == default, (parameter, mine, default)


@pytest.fixture(scope="module")
def loss_models(tmp_path_factory):
    from conftest import build_tiny_bert, without_dropout, write_st_folder

    folder = tmp_path_factory.mktemp("loss")
    bert = without_dropout(build_tiny_bert(folder / "bert", seed=2))
    path = str(write_st_folder(bert, folder / "st", classic_pooling(32, "mean")))
    return sbert.SentenceTransformer(path, device="cpu"), st.SentenceTransformer(path, device="cpu")


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_positional_matryoshka_losses_give_sentence_transformers_values(loss_models):
    """``MatryoshkaLoss(model, loss, dims, weights, n_dims_per_step)`` and ``Matryoshka2dLoss``'s and
    ``AdaptiveLayerLoss``'s positional weights bind as in sentence-transformers: the same loss values."""
    from sentence_transformers.sentence_transformer import losses as reference

    columns = [TEXTS, ["a puppy plays outside", "a kitten rests on a rug", "a red car is fast"]]
    values = []
    for model, module in ((loss_models[0], sbert), (loss_models[1], reference)):
        inner = module.MultipleNegativesRankingLoss(model)
        losses = [
            module.MatryoshkaLoss(model, inner, [32, 16, 8], [1.0, 0.5, 0.25], -1),
            module.Matryoshka2dLoss(model, inner, [32, 8], [1.0, 2.0], -1, -1, 0.5, 2.0, 0.0, 0.3, "linear"),
            module.AdaptiveLayerLoss(model, inner, -1, 0.5, 2.0, 1.5, 0.5, "log"),
        ]
        with torch.no_grad():
            values.append([loss([model.preprocess(c) for c in columns], None).item() for loss in losses])
    np.testing.assert_allclose(values[0], values[1], rtol=1e-5)
    assert len(set(values[0])) == 3


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_positional_evaluators_give_sentence_transformers_results(models, tmp_path):
    """Evaluators built with sentence-transformers' positional arguments report its metrics."""
    from sentence_transformers import evaluation as reference

    queries = {"q1": "a dog", "q2": "a car"}
    corpus = {f"d{i}": text for i, text in enumerate(TEXTS)}
    relevant = {"q1": {"d0"}, "q2": {"d2"}}
    # ..., corpus_chunk_size, mrr_at_k, ndcg_at_k, accuracy_at_k, precision_recall_at_k, map_at_k,
    # show_progress_bar, batch_size, name
    ir = (queries, corpus, relevant, 2, [2], [2], [1], [1], [3], False, 2, "dev")
    # sentences1, sentences2, scores, batch_size, main_similarity, similarity_fn_names, name
    sts = (TEXTS, TEXTS[::-1], [1.0, 0.2, 0.6], 2, "dot", ["cosine", "dot"], "sts")
    # anchors, positives, negatives, main_similarity_function, margin, name
    triplets = (TEXTS, TEXTS[1:] + TEXTS[:1], TEXTS[::-1], None, 0.01, "tri")
    ours, ref = models["SentenceTransformer"]
    for kind, args in (
        ("InformationRetrievalEvaluator", ir),
        ("EmbeddingSimilarityEvaluator", sts),
        ("TripletEvaluator", triplets),
    ):
        got = getattr(sbert.evaluation, kind)(*args)(ours, output_path=str(tmp_path / "ours"))
        want = getattr(reference, kind)(*args)(ref, output_path=str(tmp_path / "ref"))
        assert got.keys() == want.keys(), kind
        np.testing.assert_allclose([got[k] for k in want], list(want.values()), atol=1e-5, err_msg=kind)


def test_trainer_takes_sentence_transformers_positional_and_hf_keywords(models, tmp_path):
    """``SentenceTransformerTrainer(model, args, train, eval, loss, evaluator, data_collator, ...)`` binds
    as there; the model's own tokenizer as ``processing_class`` is what the trainer uses anyway; what sbert
    cannot run (an optimizer of the user's) is an InputError naming it, not ignored."""
    from datasets import Dataset

    from sbert.sentence_transformer.data_collator import SentenceTransformerDataCollator

    model = models["SentenceTransformer"][0]
    data = Dataset.from_dict({"anchor": TEXTS, "positive": TEXTS[::-1]})
    args = sbert.SentenceTransformerTrainingArguments(str(tmp_path), report_to="none")
    loss = sbert.losses.MultipleNegativesRankingLoss(model)
    collator = SentenceTransformerDataCollator(model.preprocess)
    trainer = sbert.SentenceTransformerTrainer(model, args, data, data, loss, None, collator, model.tokenizer)
    assert trainer.loss is loss and trainer.eval_data is not None
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(sbert.InputError, match="optimizers"):
        sbert.SentenceTransformerTrainer(model, args, data, optimizers=(optimizer, None))
    ce = models["CrossEncoder"][0]
    pairs = Dataset.from_dict({"query": ["a", "b"], "document": ["c", "d"], "label": [1.0, 0.0]})
    ce_args = sbert.CrossEncoderTrainingArguments(str(tmp_path / "ce"), report_to="none")
    ce_loss = sbert.cross_encoder.losses.BinaryCrossEntropyLoss(ce)
    trainer = sbert.CrossEncoderTrainer(ce, ce_args, pairs, pairs, ce_loss)
    assert trainer.loss is ce_loss and trainer.eval_data is not None


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_tokenize_keywords_go_to_preprocess_as_in_sentence_transformers(models):
    """``tokenize(texts, **kwargs)`` is ``preprocess(texts, **kwargs)`` in sentence-transformers 6: a
    ``prompt`` keyword is applied, not refused or dropped."""
    ours, ref = models["SentenceTransformer"]
    got, want = ours.tokenize(TEXTS, prompt="query: "), ref.tokenize(TEXTS, prompt="query: ")
    for key in ("input_ids", "attention_mask"):
        torch.testing.assert_close(got[key], want[key])
    assert got["input_ids"].shape[1] > ours.tokenize(TEXTS)["input_ids"].shape[1]


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_positional_mining_binds_as_in_sentence_transformers(models):
    """``mine_hard_negatives(dataset, model, anchor, positive, corpus, cross_encoder, range_min, range_max,
    max_score, min_score, absolute_margin, relative_margin, num_negatives)`` as there."""
    from datasets import Dataset
    from sentence_transformers.util import mine_hard_negatives as reference

    data = Dataset.from_dict({"q": ["a dog", "a cat", "a car"], "a": TEXTS})
    corpus = [*TEXTS, "sun shines", "a bird sings", "dogs bark loudly"]
    args = ("q", "a", corpus, None, 0, None, None, None, None, None, 2)
    ours, ref = models["SentenceTransformer"]
    got = sbert.util.mine_hard_negatives(data, ours, *args, verbose=False)
    want = reference(data, ref, *args, verbose=False)
    assert got.column_names == want.column_names and len(got) == len(want) == 6
    assert got.to_list() == want.to_list()


def test_fit_declares_classic_parameters_and_refuses_another_optimizer(models):
    """``fit``'s parameters are the classic fit's (``model.fit(objectives, evaluator, epochs, ...)``); an
    optimizer sbert does not run is refused by name, not replaced by AdamW silently."""
    ours = models["SentenceTransformer"][0]
    data = sbert.load_dataset({"a": TEXTS, "b": TEXTS[::-1]})
    with pytest.raises(sbert.InputError, match="optimizer_class"):
        ours.fit(
            [(data, sbert.losses.MultipleNegativesRankingLoss(ours))],
            None,
            1,
            optimizer_class=torch.optim.SGD,
        )
