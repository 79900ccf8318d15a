"""sbert.sparse_encoder.search_engines against sentence-transformers 6.3's module, on one tiny SPLADE model's
embeddings: Qdrant in its in-memory mode (the same hits and scores, each library searching the other's
collection); Elasticsearch, OpenSearch and Seismic on recording fakes of their clients, which show that sbert
makes the same client calls as sentence-transformers and turns the same responses into the same results
(no real server is involved: what a real engine answers is not tested here)."""

from __future__ import annotations

import sys
import types

import numpy as np
import pytest
import sentence_transformers.sparse_encoder.search_engines as reference
import torch

from sbert import InputError
from sbert.sparse_encoder import search_engines

CORPUS = ["the cat sat on the mat", "a dog ran", "a man plays guitar", "she is happy", "they eat food"]
CORPUS += ["a big tree", "the red car", "it is sunny", "a woman sings", "we eat bread", "he is sad"]
QUERIES = ["who plays guitar", "a cat", "what is the weather today", "red"]


@pytest.fixture(scope="module")
def encoded(masked_lm):
    """sbert's sparse COO embeddings of the corpus and queries, and their decoded (token, weight) lists; one
    corpus document gets a token with dots, which Elasticsearch field names cannot hold."""
    from sbert.sparse_encoder import SparseEncoder

    model = SparseEncoder(str(masked_lm), device="cpu")
    corpus, queries = model.encode(CORPUS), model.encode(QUERIES)
    assert corpus.layout == torch.sparse_coo
    decoded_corpus, decoded_queries = model.decode(corpus), model.decode(queries)
    decoded_corpus[0] = [*decoded_corpus[0], ("u.s.", 0.25)]
    decoded_queries[0] = [*decoded_queries[0], ("u.s.", 2.0)]
    return corpus, queries, decoded_corpus, decoded_queries


# --------------------------------------------------------------------------------------------------- Qdrant


def test_qdrant_in_memory_gives_sentence_transformers_hits(encoded, monkeypatch):
    import qdrant_client

    corpus, queries, _, _ = encoded
    made, real = [], qdrant_client.QdrantClient

    def in_memory(**kwargs):  # both functions connect to a local server: an in-memory client stands in
        made.append(kwargs)
        return real(":memory:")

    monkeypatch.setattr(qdrant_client, "QdrantClient", in_memory)
    ours, seconds, (client, name) = search_engines.semantic_search_qdrant(
        queries, corpus, top_k=4, output_index=True, timeout=5
    )
    theirs, _, st_index = reference.semantic_search_qdrant(
        queries, corpus, top_k=4, output_index=True, timeout=5
    )
    assert made == [{"url": "http://localhost:6333", "timeout": 5}] * 2
    assert ours == theirs and isinstance(seconds, float) and [len(row) for row in ours] == [4] * len(QUERIES)
    assert client.count(name).count == len(CORPUS) and name.startswith("sparse_collection_")
    # each library searches the collection the other built: the same layout
    assert search_engines.semantic_search_qdrant(queries, corpus_index=st_index, top_k=4)[0] == theirs
    assert reference.semantic_search_qdrant(queries, corpus_index=(client, name), top_k=4)[0] == ours
    one, _ = search_engines.semantic_search_qdrant(queries[1], corpus_index=(client, name), top_k=20)
    assert one == reference.semantic_search_qdrant(queries[1], corpus_index=(client, name), top_k=20)[0]
    assert len(one) == 1 and len(one[0]) <= len(CORPUS)


def test_qdrant_inputs_are_checked(encoded, monkeypatch):
    corpus, queries, _, _ = encoded
    with pytest.raises(InputError, match="sparse COO tensor"):
        search_engines.semantic_search_qdrant(queries.to_dense(), corpus)
    with pytest.raises(InputError, match="corpus_index must be provided"):
        search_engines.semantic_search_qdrant(queries)
    monkeypatch.setitem(sys.modules, "qdrant_client", None)  # not installed
    with pytest.raises(ImportError, match="pip install qdrant-client"):
        search_engines.semantic_search_qdrant(queries, corpus)


# ------------------------------------------------------------------------------------------ recording fakes


class Recorder:
    """Each call a client or module function receives, in order, with the random index name replaced."""

    def __init__(self):
        self.calls: list[tuple] = []
        self.names: dict[str, str] = {}

    def add(self, what: str, *args, **kwargs) -> None:
        self.calls.append((what, self.plain(args), self.plain(kwargs)))

    def plain(self, value):
        if isinstance(value, str) and value.startswith("sparse_index_"):
            return self.names.setdefault(value, f"<index {len(self.names)}>")
        if isinstance(value, np.ndarray):
            return ("array", value.dtype.str, value.tolist())
        if isinstance(value, dict):
            return {key: self.plain(item) for key, item in value.items()}
        if isinstance(value, (list, tuple, range)):
            return [self.plain(item) for item in value]
        return value


def dot_scores(documents: dict[str, dict], query: dict[str, float]) -> list[tuple[str, float]]:
    """A stand-in engine's answer: documents by the dot product of their token weights with the query's."""
    scored = [
        (doc, sum(w * tokens.get(t, 0.0) for t, w in query.items())) for doc, tokens in documents.items()
    ]
    return sorted((pair for pair in scored if pair[1] > 0), key=lambda pair: -pair[1])


def fake_rank_features_module(recorder: Recorder, client_class: str) -> types.ModuleType:
    """``elasticsearch`` / ``opensearchpy``: the client class, ``helpers.bulk``; searches answer with the
    documents bulk sent, by dot product, as a server's JSON response."""
    documents: dict[str, dict] = {}

    class Indices:
        def create(self, **kwargs):
            recorder.add("indices.create", **kwargs)

        def refresh(self, **kwargs):
            recorder.add("indices.refresh", **kwargs)

    class Client:
        def __init__(self, *args, **kwargs):
            recorder.add(client_class, *args, **kwargs)
            self.indices = Indices()

        def search(self, **kwargs):
            recorder.add("search", **kwargs)
            body = kwargs["body"]["query"]
            if "neural_sparse" in body:
                query = body["neural_sparse"]["tokens"]["query_tokens"]
            else:
                clauses = body["bool"]["should"]
                query = {c["rank_feature"]["field"][7:]: c["rank_feature"]["boost"] for c in clauses}
            ranked = dot_scores(documents, query)[: kwargs["body"]["size"]]
            return {"hits": {"hits": [{"_id": doc, "_score": score} for doc, score in ranked]}}

    def bulk(client, actions):
        recorder.add("helpers.bulk", type(client).__name__, actions)
        documents.update({a["_id"]: a["_source"]["tokens"] for a in actions})

    module = types.ModuleType(client_class.lower())
    setattr(module, client_class, Client)
    module.helpers = types.SimpleNamespace(bulk=bulk)
    return module


def run_both(monkeypatch, module_name: str, make_module, function: str, *args, **kwargs):
    """The function of each library on a fresh fake (``sys.modules[module_name]``): their results and
    recorders."""
    outcomes = []
    for library in (search_engines, reference):
        recorder = Recorder()
        monkeypatch.setitem(sys.modules, module_name, make_module(recorder))
        results = getattr(library, function)(*args, **kwargs)
        outcomes.append((results, recorder))
    return outcomes


# ------------------------------------------------------------------------------- Elasticsearch, OpenSearch


@pytest.mark.parametrize(
    "function, module_name, client_class",
    [
        ("semantic_search_elasticsearch", "elasticsearch", "Elasticsearch"),
        ("semantic_search_opensearch", "opensearchpy", "OpenSearch"),
    ],
)
def test_rank_features_engines_make_sentence_transformers_calls(
    encoded, monkeypatch, function, module_name, client_class
):
    _, _, corpus, queries = encoded
    (ours, recorded), (theirs, st_recorded) = run_both(
        monkeypatch,
        module_name,
        lambda recorder: fake_rank_features_module(recorder, client_class),
        function,
        queries,
        corpus,
        top_k=3,
        output_index=True,
        verify_certs=False,
    )
    assert recorded.calls == st_recorded.calls
    assert [call[0] for call in recorded.calls] == [client_class, "indices.create", "helpers.bulk"] + [
        "indices.refresh"
    ] + ["search"] * len(QUERIES)
    assert ours[0] == theirs[0] and ours[2][1].startswith("sparse_index_")
    assert any(ours[0]) and all(len(row) <= 3 for row in ours[0])
    # the index handed back is searched the same way by each library
    again = getattr(search_engines, function)(queries, corpus_index=ours[2], top_k=2)
    assert again[0] == getattr(reference, function)(queries, corpus_index=ours[2], top_k=2)[0]


@pytest.mark.parametrize(
    "function, module_name, client_class, package",
    [
        ("semantic_search_elasticsearch", "elasticsearch", "Elasticsearch", "elasticsearch"),
        ("semantic_search_opensearch", "opensearchpy", "OpenSearch", "opensearch-py"),
        ("semantic_search_seismic", "seismic", "", "pyseismic-lsr"),
    ],
)
def test_decoded_engines_check_inputs_and_name_their_package(
    encoded, monkeypatch, function, module_name, client_class, package
):
    _, _, corpus, queries = encoded
    search = getattr(search_engines, function)
    maker = fake_seismic_module if module_name == "seismic" else fake_rank_features_module
    monkeypatch.setitem(sys.modules, module_name, maker(Recorder(), client_class))
    with pytest.raises(InputError, match="list of lists"):
        search([["not", "pairs"]], corpus)
    with pytest.raises(InputError, match="corpus_index must be provided"):
        search(queries)
    monkeypatch.setitem(sys.modules, module_name, None)  # not installed
    with pytest.raises(ImportError, match=f"pip install {package}"):
        search(queries, corpus)


# -------------------------------------------------------------------------------------------------- Seismic


def fake_seismic_module(recorder: Recorder, _unused: str = "") -> types.ModuleType:
    """``seismic``: a dataset that records documents, an index whose ``batch_search`` answers by dot product,
    the queries in reverse order and a query without matches as an empty list, as Seismic may."""

    class SeismicDataset:
        def __init__(self):
            recorder.add("SeismicDataset")
            self.documents: dict[str, dict] = {}

        def add_document(self, doc_id, components, values):
            recorder.add("add_document", doc_id, components, values)
            self.documents[doc_id] = dict(zip(components.tolist(), values.tolist()))

    class SeismicIndex:
        def __init__(self, documents):
            self.documents = documents

        @classmethod
        def build_from_dataset(cls, dataset, **kwargs):
            recorder.add("build_from_dataset", **kwargs)
            return cls(dataset.documents)

        def batch_search(self, queries_ids, query_components, query_values, k, **kwargs):
            recorder.add("batch_search", queries_ids, query_components, query_values, k=k, **kwargs)
            answers = []
            for query_id, tokens, weights in zip(queries_ids, query_components, query_values):
                ranked = dot_scores(self.documents, dict(zip(tokens.tolist(), weights.tolist())))[:k]
                answers.append([(str(query_id), score, doc) for doc, score in ranked])
            return answers[::-1]

    module = types.ModuleType("seismic")
    module.SeismicDataset, module.SeismicIndex = SeismicDataset, SeismicIndex
    module.get_seismic_string = lambda: "<U30"
    return module


def test_seismic_makes_sentence_transformers_calls(encoded, monkeypatch):
    _, _, corpus, queries = encoded
    queries = [*queries, [("zzz-not-in-the-corpus", 1.0)]]  # matches nothing: an empty result
    options = {"index_kwargs": {"nknn": 0}, "search_kwargs": {"heap_factor": 0.9}}
    (ours, recorded), (theirs, st_recorded) = run_both(
        monkeypatch,
        "seismic",
        fake_seismic_module,
        "semantic_search_seismic",
        queries,
        corpus,
        top_k=3,
        **options,
    )
    assert recorded.calls == st_recorded.calls
    assert recorded.calls[-1][2] == {"k": 3, "query_cut": 10, "heap_factor": 0.9}
    assert ours[0] == theirs[0] and ours[0][-1] == [] and all(ours[0][:-1])
