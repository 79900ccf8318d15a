"""sbert's own routes: the similarity matrix, ``/search``, health, info, metrics and the playground."""

from __future__ import annotations

import asyncio
import time
from importlib import resources
from typing import TYPE_CHECKING, Any

from ..._version import __version__
from ..errors import InvalidRequest
from ..metrics import CONTENT_TYPE
from .registry import Reply, Routes

if TYPE_CHECKING:
    from ..pipeline import Pipeline
    from ..schemas import SearchRequest, SimilarityMatrixRequest

routes = Routes()
# sbert's precisions under the dtype names TEI's /info gives them.
TEI_DTYPES = {"fp32": "float32", "fp16": "float16", "bf16": "bfloat16"}


@routes.post("/similarity/matrix", tag="sbert")
async def similarity_matrix(pipeline: Pipeline, body: SimilarityMatrixRequest) -> Any:
    """The ``(n, n)`` similarity matrix of ``inputs`` (what the playground draws)."""
    embedded = await pipeline.embed(body)
    return embedded.model.similarity(embedded.vectors, embedded.vectors)


@routes.post("/search", tag="sbert", needs_index=True)
async def search(pipeline: Pipeline, body: SearchRequest) -> Any:
    """The ``k`` texts of the index closest to each query, best first:
    ``{"model", "results": [[{"rank", "id", "text", "score"}, ...], ...]}``, one list per query. With
    ``"rerank": true`` (or ``"reranker": NAME``) the ``k`` hits are reordered by the reranker's scores; with
    ``"fusion": "rrf"`` by reciprocal rank fusion of the retrieval and reranker orders."""
    state = pipeline.state
    index = state.index
    assert index is not None  # needs_index: the pipeline answered 404 without one
    served = index.model
    if body.model is not None and pipeline.model(body.model) is not served:
        raise InvalidRequest(
            f'the index was built with model {served.name!r}, not {body.model!r}: send "model": '
            f'{served.name!r} or leave "model" out.'
        )
    # The same path as /embed: tokenized off the loop, embedded in the model's shared batches.
    embedded = await pipeline.embed(body, served)
    started = time.perf_counter()
    loop = asyncio.get_running_loop()
    hits = await loop.run_in_executor(state.search_pool, index.search, embedded.vectors, body.k)
    state.metrics.search_seconds.observe(time.perf_counter() - started)
    if body.rerank or body.reranker is not None or body.fusion is not None:
        return await _reranked(pipeline, body, served.name, hits)
    results = [
        [
            {"rank": rank, "id": hit.id, "text": hit.text, "score": hit.score}
            for rank, hit in enumerate(row, 1)
        ]
        for row in hits
    ]
    return {"model": served.name, "results": results}


async def _reranked(pipeline: Pipeline, body: SearchRequest, model: str, hits: list[list[Any]]) -> Any:
    """Each query's hits reordered by the reranker's scores of (query, hit text), as ``CrossEncoder.rank``
    orders them; every hit keeps its ``retrieval_rank`` and ``retrieval_score``. The queries' pairs share
    the reranker's batches."""
    from ..reranking import ranking
    from ..schemas import PairInputs

    reranker = pipeline.reranker(body.reranker)
    scored = await asyncio.gather(
        *(
            pipeline.rerank(PairInputs(query, [hit.text for hit in row]), reranker)
            for query, row in zip(body.query, hits)
        )
    )
    results = []
    for row, pairs in zip(hits, scored):
        ranked = ranking(reranker.scores(pairs.logits))
        found = [
            {"rank": rank, "id": row[i].id, "text": row[i].text, "score": score}
            | {"retrieval_rank": i + 1, "retrieval_score": row[i].score}
            for rank, (i, score) in enumerate(ranked, 1)
        ]
        results.append(_fused(found) if body.fusion == "rrf" else found)
    return {"model": model, "reranker": reranker.name, "results": results}


def _fused(reranked: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The reranked hits of one query in the order of reciprocal rank fusion of their retrieval and reranker
    ranks (as ``util.reciprocal_rank_fusion``); ``score`` becomes the fused score, ``rerank_score`` keeps the
    reranker's."""
    from ..._search.fusion import fused_order, rrf_scores

    by_retrieval = sorted(range(len(reranked)), key=lambda j: reranked[j]["retrieval_rank"])
    scores = rrf_scores([by_retrieval, range(len(reranked))])
    return [
        reranked[j] | {"rank": rank, "score": scores[j], "rerank_score": reranked[j]["score"]}
        for rank, j in enumerate(fused_order(scores), 1)
    ]


@routes.get("/health", tag="server", public=True, light=True)
async def health(pipeline: Pipeline) -> Any:
    """200 while serving; 503 once draining after SIGTERM, so load balancers stop sending."""
    if pipeline.state.draining:
        return Reply({"status": "draining"}, status=503)
    return {"status": "ok"}


@routes.get("/info", tag="server", light=True)
async def info(pipeline: Pipeline) -> Any:
    """The default model and the server's limits under text-embeddings-inference's field names, then
    sbert's own: every model served, with its prompts, and the index."""
    state = pipeline.state
    default = _described(pipeline)
    return {
        **_tei_info(pipeline),
        "dimension": default.dimension,
        "backend": default.backend,
        "precision": default.precision,
        "max_input_items": state.max_input_items,
        "max_body_bytes": state.max_body_bytes,
        "models": [served.describe() for served in state.models.values()],
        "rerankers": [reranker.describe() for reranker in state.rerankers.values()],
        "classifiers": [classifier.describe() for classifier in state.classifiers.values()],
        "sparse_models": [served.describe() for served in state.sparse_models.values()],
        "index": state.index.describe() if state.index is not None else None,
    }


def _tei_info(pipeline: Pipeline) -> dict[str, Any]:
    """TEI's ``Info``: what its clients read (``auto_truncate``: whether TEI requests that send no
    ``truncate`` are cut, --auto-truncate)."""
    state = pipeline.state
    default = _described(pipeline)
    return {
        "model_id": default.name,
        "model_sha": None,
        "model_dtype": TEI_DTYPES.get(default.precision, default.precision),
        "model_type": {"embedding": {"pooling": default.pooling}},
        "max_concurrent_requests": state.max_concurrent_requests,
        "max_input_length": default.max_length,
        "max_batch_tokens": default.max_batch_tokens,
        "max_batch_requests": default.max_batch_size,
        "max_client_batch_size": state.max_input_items,
        "auto_truncate": state.auto_truncate,
        "tokenization_workers": state.tokenization_workers,
        "version": __version__,
        "sha": None,
        "docker_label": None,
    }


def _described(pipeline: Pipeline) -> Any:
    """The model /info's TEI fields describe: the default model, else (a server of sparse models only) the
    first sparse model, whose pooling is "splade" as TEI names it."""
    state = pipeline.state
    if state.default is None:
        return next(iter(state.sparse_models.values()))
    return state.models[state.default]


@routes.get("/metrics", tag="server", light=True, note="Prometheus")
async def metrics(pipeline: Pipeline) -> Any:
    """Prometheus text format: requests by status, queue depth, batch sizes, tokens/s, latencies."""
    return Reply(pipeline.state.metrics.render(), media_type=CONTENT_TYPE)


@routes.get("/", tag="sbert", public=True, light=True, in_schema=False, note="a playground page")
async def playground(pipeline: Pipeline) -> Any:
    page = resources.files("sbert._server").joinpath("playground.html").read_bytes()
    return Reply(page, media_type="text/html; charset=utf-8")
