"""sentence-transformers' sparse search engines (``sparse_encoder.search_engines``): a SparseEncoder's
embeddings searched in Qdrant, Elasticsearch, OpenSearch or Seismic.

Each function makes the client calls sentence-transformers makes (the same collection or index layout, the
same queries), so an index one library built is searched by the other. Qdrant takes the torch sparse COO
tensors of ``encode``; the others take ``model.decode(...)``'s ``(token, weight)`` lists. The clients are
optional packages, imported when a function runs; Qdrant, Elasticsearch and OpenSearch connect to a local
server (``**kwargs`` go to the client) unless ``corpus_index`` names a client and collection already built.
Results are sentence-transformers' ``(hits, seconds[, index])``, ``seconds`` the search alone.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from uuid import uuid4

import numpy as np

from .._errors import BackendUnavailableError, InputError
from .._progress import progress_bar

Hits = list[list[dict[str, Any]]]
QDRANT_BATCH = 10_000  # vectors per upload_collection call, as sentence-transformers uploads them
BULK_BATCH = 1_000  # documents per bulk request (Elasticsearch, OpenSearch)
SEISMIC_SEARCH_DEFAULTS = {"query_cut": 10, "heap_factor": 0.7}


def semantic_search_qdrant(
    query_embeddings: Any,
    corpus_embeddings: Any = None,
    corpus_index: tuple[Any, str] | None = None,
    top_k: int = 10,
    output_index: bool = False,
    **kwargs: Any,
) -> tuple[Any, ...]:
    """Search sparse COO ``query_embeddings`` (one row or a batch) in a Qdrant collection: ``corpus_index``
    ``(client, collection_name)``, or one made from ``corpus_embeddings`` on ``QdrantClient(url=
    "http://localhost:6333", **kwargs)`` (vectors named ``"text"``, point ids the corpus rows)."""
    try:
        from qdrant_client import QdrantClient
        from qdrant_client.http import models
    except ImportError:
        raise _missing("the Qdrant client", "qdrant-client") from None
    queries = _sparse_rows(query_embeddings, "Query")
    if corpus_index is None:
        if corpus_embeddings is None:
            raise InputError("Either corpus_embeddings or corpus_index must be provided.")
        corpus = _sparse_rows(corpus_embeddings, "Corpus")
        client = QdrantClient(url="http://localhost:6333", **kwargs)
        corpus_index = (client, _qdrant_collection(client, models, corpus))
    client, collection_name = corpus_index
    start = time.time()
    hits = []
    for indices, values in queries:
        points = client.query_points(
            collection_name=collection_name,
            query=models.SparseVector(indices=indices, values=values),
            limit=top_k,
            using="text",
        ).points
        hits.append([{"corpus_id": point.id, "score": point.score} for point in points])
    return _outputs(hits, time.time() - start, corpus_index, output_index)


def semantic_search_elasticsearch(
    query_embeddings_decoded: list[list[tuple[str, float]]],
    corpus_embeddings_decoded: list[list[tuple[str, float]]] | None = None,
    corpus_index: tuple[Any, str] | None = None,
    top_k: int = 10,
    output_index: bool = False,
    **kwargs: Any,
) -> tuple[Any, ...]:
    """Search decoded queries in an Elasticsearch ``rank_features`` index: ``corpus_index`` ``(client,
    index_name)``, or one made from ``corpus_embeddings_decoded`` on ``Elasticsearch("http://localhost:9200",
    **kwargs)``. Each query token is a ``rank_feature`` clause boosted by its weight; ``.`` in a token is
    ``_`` in the field name (Elasticsearch reads dots as object paths)."""
    try:
        from elasticsearch import Elasticsearch, helpers
    except ImportError:
        raise _missing("the Elasticsearch client", "elasticsearch") from None

    def query(decoded: list[tuple[str, float]]) -> dict[str, Any]:
        should = [
            {"rank_feature": {"field": f"tokens.{token}", "saturation": {}, "boost": weight}}
            for token, weight in _field_names(decoded).items()
        ]
        return {"bool": {"should": should, "minimum_should_match": 1}}

    def connect() -> Any:
        return Elasticsearch("http://localhost:9200", **kwargs)

    searched = (query_embeddings_decoded, corpus_embeddings_decoded, corpus_index, top_k, output_index)
    return _rank_features_search(*searched, connect, helpers.bulk, _field_names, query)


def semantic_search_opensearch(
    query_embeddings_decoded: list[list[tuple[str, float]]],
    corpus_embeddings_decoded: list[list[tuple[str, float]]] | None = None,
    corpus_index: tuple[Any, str] | None = None,
    top_k: int = 10,
    output_index: bool = False,
    **kwargs: Any,
) -> tuple[Any, ...]:
    """Search decoded queries in an OpenSearch ``rank_features`` index with ``neural_sparse`` queries:
    ``corpus_index`` ``(client, index_name)``, or one made from ``corpus_embeddings_decoded`` on
    ``OpenSearch("http://localhost:9200", **kwargs)``."""
    try:
        from opensearchpy import OpenSearch, helpers
    except ImportError:
        raise _missing("the OpenSearch client", "opensearch-py") from None

    def query(decoded: list[tuple[str, float]]) -> dict[str, Any]:
        return {"neural_sparse": {"tokens": {"query_tokens": dict(decoded)}}}

    def connect() -> Any:
        return OpenSearch("http://localhost:9200", **kwargs)

    searched = (query_embeddings_decoded, corpus_embeddings_decoded, corpus_index, top_k, output_index)
    return _rank_features_search(*searched, connect, helpers.bulk, dict, query)


def _rank_features_search(
    queries: Any,
    corpus: Any,
    corpus_index: Any,
    top_k: int,
    output_index: bool,
    connect: Callable[[], Any],
    bulk: Any,
    field_names: Callable[[Any], dict[str, float]],
    query_of: Callable[[Any], dict[str, Any]],
) -> tuple[Any, ...]:
    """Elasticsearch's and OpenSearch's shared steps: the index (``corpus_index``, or one made from
    ``corpus`` on ``connect()``), one search per query (``query_of``), the hits and the search time."""
    _check_decoded(queries, "Query")
    if corpus_index is None:
        checked = _checked_corpus(corpus)
        client = connect()
        corpus_index = (client, _rank_features_index(client, bulk, checked, field_names))
    client, index_name = corpus_index
    start = time.time()
    hits = [_search_hits(client, index_name, {"size": top_k, "query": query_of(q)}) for q in queries]
    return _outputs(hits, time.time() - start, corpus_index, output_index)


def semantic_search_seismic(
    query_embeddings_decoded: list[list[tuple[str, float]]],
    corpus_embeddings_decoded: list[list[tuple[str, float]]] | None = None,
    corpus_index: Any = None,
    top_k: int = 10,
    output_index: bool = False,
    index_kwargs: dict[str, Any] | None = None,
    search_kwargs: dict[str, Any] | None = None,
) -> tuple[Any, ...]:
    """Search decoded queries in a ``SeismicIndex`` (in process, no server): ``corpus_index``, or one built
    from ``corpus_embeddings_decoded`` with ``index_kwargs``; ``search_kwargs`` go to ``batch_search``
    (``query_cut`` 10 and ``heap_factor`` 0.7 unless given)."""
    try:
        from seismic import SeismicDataset, SeismicIndex, get_seismic_string
    except ImportError:
        raise _missing("Seismic", "pyseismic-lsr") from None
    string_type = get_seismic_string()
    _check_decoded(query_embeddings_decoded, "Query")
    if corpus_index is None:
        dataset = SeismicDataset()
        corpus = _checked_corpus(corpus_embeddings_decoded)
        with progress_bar(len(corpus), desc="Adding documents to Seismic", unit="doc", show=None) as bar:
            for row, decoded in enumerate(corpus):
                tokens, weights = _seismic_arrays(decoded, string_type)
                dataset.add_document(str(row), tokens, weights)
                bar.update()
        corpus_index = SeismicIndex.build_from_dataset(dataset, **(index_kwargs or {}))
    start = time.time()
    arrays = [_seismic_arrays(decoded, string_type) for decoded in query_embeddings_decoded]
    results = corpus_index.batch_search(
        queries_ids=np.array(range(len(arrays)), dtype=string_type),
        query_components=[tokens for tokens, _ in arrays],
        query_values=[weights for _, weights in arrays],
        k=top_k,
        **{**SEISMIC_SEARCH_DEFAULTS, **(search_kwargs or {})},
    )
    # results come back out of order, and a query without matches as an empty list that names no query:
    # each list is placed by the query id inside it
    hits: Hits = [[] for _ in arrays]
    for result in results:
        if result:
            hits[int(result[0][0])] = [{"corpus_id": int(doc), "score": score} for _, score, doc in result]
    return _outputs(hits, time.time() - start, corpus_index, output_index)


def _missing(what: str, package: str) -> BackendUnavailableError:
    return BackendUnavailableError(f"{what} is not installed; install it with `pip install {package}`.")


def _outputs(hits: Hits, seconds: float, index: Any, output_index: bool) -> tuple[Any, ...]:
    return (hits, seconds, index) if output_index else (hits, seconds)


def _sparse_rows(embeddings: Any, what: str) -> list[tuple[list[int], list[float]]]:
    """Each row of a sparse COO matrix (or one vector) as its ``(indices, values)`` lists."""
    import torch

    if not isinstance(embeddings, torch.Tensor) or embeddings.layout != torch.sparse_coo:
        raise InputError(
            f"{what} embeddings must be a sparse COO tensor: "
            "model.encode(..., convert_to_sparse_tensor=True)."
        )
    if embeddings.ndim not in (1, 2):
        raise InputError(f"{what} embeddings must be a 1D or 2D sparse tensor, got {embeddings.ndim}D.")
    matrix = (embeddings.unsqueeze(0) if embeddings.ndim == 1 else embeddings).coalesce()
    indices = matrix.indices().cpu().numpy()
    values = matrix.values()
    values = (values.float() if values.dtype == torch.bfloat16 else values).cpu().numpy()
    rows = np.arange(matrix.size(0))  # coalesced: sorted by row, so each row is one slice
    starts, ends = np.searchsorted(indices[0], rows, "left"), np.searchsorted(indices[0], rows, "right")
    return [(indices[1][s:e].tolist(), values[s:e].tolist()) for s, e in zip(starts, ends)]


def _qdrant_collection(client: Any, models: Any, corpus: list[tuple[list[int], list[float]]]) -> str:
    """A new collection of the corpus' sparse vectors (in memory, as ``"text"``); its name."""
    name = f"sparse_collection_{uuid4().hex}"
    client.create_collection(
        collection_name=name,
        vectors_config={},
        sparse_vectors_config={
            "text": models.SparseVectorParams(index=models.SparseIndexParams(on_disk=False))
        },
    )
    with progress_bar(len(corpus), desc="Processing and Upserting embeddings", unit="doc", show=None) as bar:
        for first in range(0, len(corpus), QDRANT_BATCH):
            batch = corpus[first : first + QDRANT_BATCH]
            vectors = [{"text": models.SparseVector(indices=i, values=v)} for i, v in batch]
            ids = range(first, first + len(batch))
            client.upload_collection(collection_name=name, vectors=vectors, ids=ids, wait=True)
            bar.update(len(batch))
    return name


def _check_decoded(decoded: Any, what: str) -> None:
    def pairs(row: Any) -> bool:
        return isinstance(row, list) and all(isinstance(t, tuple) and len(t) == 2 for t in row)

    if not isinstance(decoded, list) or not all(pairs(row) for row in decoded):
        raise InputError(
            f"{what} embeddings must be a list of lists in the format [[('token', value), ...], ...]: "
            "model.decode(embeddings)."
        )


def _checked_corpus(decoded: Any) -> list[list[tuple[str, float]]]:
    if decoded is None:
        raise InputError("Either corpus_embeddings_decoded or corpus_index must be provided.")
    _check_decoded(decoded, "Corpus")
    return decoded


def _field_names(decoded: list[tuple[str, float]]) -> dict[str, float]:
    return {str(token).replace(".", "_"): weight for token, weight in dict(decoded).items()}


def _rank_features_index(client: Any, bulk: Any, corpus: list[Any], tokens_of: Any) -> str:
    """A new ``rank_features`` index of the corpus (document ids the corpus rows), refreshed; its name."""
    name = f"sparse_index_{uuid4().hex}"
    properties = {"tokens": {"type": "rank_features"}, "id": {"type": "keyword"}}
    client.indices.create(index=name, body={"mappings": {"properties": properties}})
    with progress_bar(len(corpus), desc="Upserting embeddings", unit="doc", show=None) as bar:
        for first in range(0, len(corpus), BULK_BATCH):
            rows = range(first, min(first + BULK_BATCH, len(corpus)))
            source = ({"id": str(row), "tokens": tokens_of(corpus[row])} for row in rows)
            bulk(client, [{"_index": name, "_id": s["id"], "_source": s} for s in source])
            bar.update(len(rows))
    client.indices.refresh(index=name)
    return name


def _search_hits(client: Any, index_name: str, query: dict[str, Any]) -> list[dict[str, Any]]:
    response = client.search(index=index_name, body=query)
    return [{"corpus_id": int(hit["_id"]), "score": hit["_score"]} for hit in response["hits"]["hits"]]


def _seismic_arrays(decoded: list[tuple[str, float]], string_type: Any) -> tuple[np.ndarray, np.ndarray]:
    tokens = dict(decoded)
    return np.array(list(tokens), dtype=string_type), np.array(list(tokens.values()), dtype=np.float32)
