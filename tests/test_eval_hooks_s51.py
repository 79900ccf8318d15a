"""Hooks of sentence-transformers' evaluators that a user's subclass overrides, honoured as there: the
reranking evaluators' ``compute_metrics`` / ``compute_metrics_batched`` / ``compute_metrics_individual``
(their ``compute_metrices*`` aliases bound to the base methods, so overriding one changes nothing, as there)
and ``samples`` in sentence-transformers' dict form; and the sparse evaluators' ``embed_inputs``, their
sparsity statistics from the default ``embed_inputs`` an override calls through ``super()`` (as
sentence-transformers records them), else from what the override returned. Each side by side with
sentence-transformers' own evaluator, the same override, on the same model folder."""

from __future__ import annotations

import importlib

import numpy as np
import pytest
from conftest import WORDS, build_tiny_bert, classic_pooling, random_sentences, rerank_samples

# torch's one-time notices, raised by sentence-transformers' own sparse similarity code
pytestmark = [
    pytest.mark.filterwarnings("ignore:Sparse CSR tensor support is in beta:UserWarning"),
    pytest.mark.filterwarnings("ignore:Sparse invariant checks are implicitly disabled:UserWarning"),
]

TOL = 1e-5


def texts(n, seed):
    return random_sentences(WORDS, n, seed)


@pytest.fixture(scope="module")
def dense(tiny_st_factory):
    import sentence_transformers

    import sbert

    path = str(tiny_st_factory(classic_pooling(32, "mean")))
    return sbert.SentenceTransformer(path), sentence_transformers.SentenceTransformer(path, device="cpu")


@pytest.fixture(scope="module")
def sparse(sparse_splade_folder):
    """The shared SPLADE folder (about 18 of its 99 dimensions active per text), by both libraries."""
    from sentence_transformers import SparseEncoder as Reference

    from sbert.sparse_encoder import SparseEncoder

    folder = sparse_splade_folder
    return SparseEncoder(str(folder), device="cpu"), Reference(str(folder), device="cpu")


@pytest.fixture(scope="module")
def multi_vector(tmp_path_factory):
    import torch
    from sentence_transformers import MultiVectorEncoder as Reference

    from sbert.multi_vector_encoder import MultiVectorEncoder

    root = tmp_path_factory.mktemp("hooks-mv")
    torch.manual_seed(0)
    Reference(str(build_tiny_bert(root / "bert")), device="cpu").save(str(root / "mv"))
    return MultiVectorEncoder(str(root / "mv"), device="cpu"), Reference(str(root / "mv"), device="cpu")


def assert_same(mine, theirs):
    assert list(mine) == list(theirs)
    values = [[float(v) for v in found.values()] for found in (mine, theirs)]
    np.testing.assert_allclose(*values, atol=TOL)


def with_hook(base, method):
    """``base`` subclassed with ``method`` overridden: the base's metrics with MAP and MRR halved."""

    def halved(self, model):
        found = getattr(super(cls, self), method)(model)
        return {**found, "map": found["map"] / 2, "mrr": found["mrr"] / 2}

    cls = type("Hooked", (base,), {method: halved})
    return cls


RERANKING = {
    "dense": ("sentence_transformer.evaluation", "RerankingEvaluator"),
    "sparse": ("sparse_encoder.evaluation", "SparseRerankingEvaluator"),
    "multi_vector": ("multi_vector_encoder.evaluation", "MultiVectorRerankingEvaluator"),
}


@pytest.mark.parametrize(
    ("method", "batched"),
    [
        ("compute_metrics", True),
        ("compute_metrics_batched", True),
        ("compute_metrics_individual", False),
        ("compute_metrices", True),  # an alias: overriding it changes nothing, in both libraries
    ],
)
def test_a_reranking_subclass_overriding_compute_metrics_is_called_as_in_st(dense, method, batched, tmp_path):
    from sentence_transformers.sentence_transformer import evaluation as theirs

    from sbert import evaluation as ours

    results, csvs = [], []
    for module, model in zip((ours, theirs), dense):
        where = tmp_path / module.__name__
        evaluator = with_hook(module.RerankingEvaluator, method)(
            rerank_samples(), name="dev", at_k=3, use_batched_encoding=batched
        )
        unprefixed = evaluator.compute_metrics(model)
        assert set(unprefixed) == {"map", "mrr", "ndcg"}
        results.append((evaluator(model, str(where)), unprefixed, evaluator.compute_metrices_batched(model)))
        csvs.append((where / evaluator.csv_file).read_text().splitlines())
    for mine, expected in zip(*results):
        assert_same(mine, expected)
    assert csvs[0][0] == csvs[1][0]
    got, want = (np.array(rows[1].split(","), dtype=float) for rows in csvs)
    np.testing.assert_allclose(got, want, atol=TOL)


def test_reranking_samples_are_kept_in_st_form():
    """Dicts with their own keys, a single text as a list of one, samples without a positive or negative
    left out; a subclass that edits ``samples`` after construction is evaluated on what it left."""
    from sentence_transformers.sentence_transformer.evaluation import RerankingEvaluator as Theirs

    from sbert.evaluation import RerankingEvaluator as Ours

    samples = [
        {"query": "q1", "positive": "p", "negative": ["n1", "n2"], "id": 7},
        {"query": "q2", "positive": [], "negative": ["n"]},
        {"query": "q3", "positive": ("a", "b"), "negative": "n"},
    ]
    ours, theirs = Ours(samples), Theirs(samples)
    assert [dict(s, positive=list(s["positive"])) for s in theirs.samples] == ours.samples
    assert isinstance(ours.samples[0], dict) and ours.samples[0]["id"] == 7


@pytest.mark.parametrize("kind", ["sparse", "multi_vector"])
@pytest.mark.parametrize("batched", [True, False])
def test_sparse_and_multi_vector_reranking_call_the_hooks_as_st(request, kind, batched):
    """The subclasses of the reranking evaluator: an override of their compute_metrics step, and of their
    embed_inputs (each embedding cut: the first three tokens, the five largest weights), as in ST."""
    ours_model, their_model = request.getfixturevalue(kind)
    path, name = RERANKING[kind]
    found = []
    for package, model in (("sbert", ours_model), ("sentence_transformers", their_model)):
        base = getattr(importlib.import_module(f"{package}.{path}"), name)
        hooked = with_hook(base, "compute_metrics_batched" if batched else "compute_metrics_individual")
        cut = type("Cut", (base,), {"embed_inputs": _cut_embed_inputs})
        found.append([e(rerank_samples(), use_batched_encoding=batched)(model) for e in (hooked, cut)])
    for mine, expected in zip(*found):
        assert_same(mine, expected)


def _cut_embed_inputs(self, model, sentences, *args, **kwargs):
    found = super(type(self), self).embed_inputs(model, sentences, *args, **kwargs)
    if isinstance(found, list) and not found[0].is_sparse:  # token embeddings: one matrix per text
        return [e[:3] for e in found]
    return _top5(found)


def _top5(found):
    """The embeddings with each one's five largest weights kept, in the kind given (a sparse or dense
    tensor, a list of sparse rows)."""
    import torch

    rows = torch.stack(list(found)) if isinstance(found, list) else found
    dense = rows.to_dense() if rows.is_sparse else rows
    top = dense.topk(5, dim=1)
    kept = torch.zeros_like(dense).scatter(1, top.indices, top.values)
    if isinstance(found, list):
        return list(kept.to_sparse())
    return kept.to_sparse() if found.is_sparse else kept


SPARSE = {
    "SparseEmbeddingSimilarityEvaluator": lambda: (texts(8, 1), texts(8, 2), list(np.linspace(0, 5, 8))),
    "SparseBinaryClassificationEvaluator": lambda: (texts(8, 3), texts(8, 4), [i % 2 for i in range(8)]),
    "SparseTripletEvaluator": lambda: (texts(8, 5), texts(8, 6), texts(8, 7)),
    "SparseTranslationEvaluator": lambda: (texts(8, 8), texts(8, 9)),
    "SparseRerankingEvaluator": lambda: (rerank_samples(),),
    "SparseInformationRetrievalEvaluator": lambda: (
        {f"q{i}": t for i, t in enumerate(texts(4, 10))},
        {f"d{i}": t for i, t in enumerate(texts(12, 11))},
        {f"q{i}": {f"d{i}", f"d{i + 4}"} for i in range(4)},
    ),
    "SparseMSEEvaluator": lambda: (texts(8, 20), texts(8, 21)),
}


def sparse_evaluator(package, kind, hook, model, **options):
    base = getattr(importlib.import_module(f"{package}.sparse_encoder.evaluation"), kind)
    if kind == "SparseMSEEvaluator":
        options["teacher_model"] = model
    return type("Hooked", (base,), {"embed_inputs": hook})(*SPARSE[kind](), **options)


@pytest.mark.parametrize("name", SPARSE)
def test_a_sparse_evaluator_subclass_overriding_embed_inputs_is_called_as_in_st(sparse, name, tmp_path):
    """The override prefixes every text and keeps each embedding's five largest weights: the metrics are
    those of what it returned, the sparsity statistics those of its super() call's embeddings, as in ST;
    the CSV rows alike; and super() gives the kind of embeddings ST's gives (a list of sparse rows for
    reranking and translation, a dense tensor for MSE, else a sparse tensor)."""

    def hook(self, model, sentences, *args, **kwargs):
        prefixed = ["zebra " + s for s in sentences]
        found = super(type(self), self).embed_inputs(model, prefixed, *args, **kwargs)
        kinds.append(_kind(found))
        return _top5(found)

    found = []
    for package, model in zip(("sbert", "sentence_transformers"), sparse):
        kinds: list[str] = []
        evaluator = sparse_evaluator(package, name, hook, model, name="dev")
        found.append((evaluator(model, str(tmp_path / package)), evaluator.csv_file, kinds))
    (mine, file, my_kinds), (expected, their_file, their_kinds) = found
    assert_same(mine, expected)
    assert my_kinds == their_kinds
    assert file == their_file
    rows = [
        (tmp_path / package / file).read_text().splitlines() for package in ("sbert", "sentence_transformers")
    ]
    assert rows[0][0] == rows[1][0]
    np.testing.assert_allclose(
        np.array(rows[0][1].split(","), dtype=float), np.array(rows[1][1].split(","), dtype=float), atol=TOL
    )


def _kind(found):
    """``"list of sparse"``, ``"sparse"``, ``"dense"`` (a torch tensor) or the type's name."""
    import torch

    if isinstance(found, list):
        return f"list of {_kind(found[0])}"
    if isinstance(found, torch.Tensor):
        return "sparse" if found.is_sparse else "dense"
    return type(found).__name__


@pytest.mark.parametrize(
    "name", ["SparseEmbeddingSimilarityEvaluator", "SparseTripletEvaluator", "SparseRerankingEvaluator"]
)
def test_sparsity_of_an_embed_inputs_that_embeds_itself_is_of_what_it_returned(sparse, name):
    """An override that never calls super() (sentence-transformers then has no statistics to report, and
    fails formatting them): each group's statistics are ST's ``SparseEncoder.sparsity`` of what it
    returned, averaged over its calls as ST averages them."""
    ours_model, their_model = sparse
    returned = []

    def hook(self, model, sentences, encode_fn_name=None, **kwargs):
        found = _top5(model.encode(sentences, convert_to_sparse_tensor=True))
        returned.append((encode_fn_name, their_model.sparsity(found)))
        return found

    results = sparse_evaluator("sbert", name, hook, ours_model)(ours_model)
    assert returned
    if name == "SparseTripletEvaluator":
        groups = ["anchor", "positive", "negative"]
    elif name == "SparseRerankingEvaluator":
        groups = ["query" if role == "query" else "corpus" for role, _ in returned]
    else:
        groups = [""] * len(returned)
    for group in dict.fromkeys(groups):
        calls = [stats for g, (_, stats) in zip(groups, returned) if g == group]
        for key in ("active_dims", "sparsity_ratio"):
            expected = sum(call[key] for call in calls) / len(calls)
            assert results[f"{group}_{key}" if group else key] == pytest.approx(expected, abs=TOL)


@pytest.mark.parametrize("batched", [True, False])
def test_sparse_reranking_hands_similarity_fct_what_st_hands_it(sparse, batched):
    """A user's similarity_fct gets the documents as a list of sparse rows and the query as a row (a list of
    one where each sample is embedded alone), as ST's embed_inputs list gives them."""
    import torch

    def forms(seen):
        def similarity(query, documents):
            seen.append((type(query).__name__, len(query) if isinstance(query, list) else query.dim()))
            seen.append((type(documents).__name__, len(documents)))
            rows = torch.stack(query if isinstance(query, list) else [query]).to_dense()
            return rows @ torch.stack(documents).to_dense().T

        return similarity

    found = []
    for package, model in zip(("sbert", "sentence_transformers"), sparse):
        base = importlib.import_module(f"{package}.sparse_encoder.evaluation").SparseRerankingEvaluator
        seen = []
        results = base(rerank_samples(), similarity_fct=forms(seen), use_batched_encoding=batched)(model)
        found.append((results, seen))
    (mine, my_forms), (theirs, their_forms) = found
    assert my_forms == their_forms
    assert_same(mine, theirs)
