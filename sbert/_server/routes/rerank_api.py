"""The rerank protocol of Cohere and Jina: ``POST /v1/rerank`` (``{model, query, documents, top_n,
return_documents}`` -> ``{results: [{index, relevance_score, document?}], ...}``), and ``POST /v2/rerank``,
where Cohere's ClientV2 sends the same body; and infinity's answer to that body on ``POST /rerank``, whose
``document`` is the text itself."""

from __future__ import annotations

import time
import uuid
from typing import TYPE_CHECKING, Any

from .registry import Routes

if TYPE_CHECKING:
    from ..pipeline import Pipeline, Scored
    from ..schemas import RerankRequest

routes = Routes()


@routes.post("/v2/rerank", tag="Rerank", needs_reranker=True, note="Cohere's ClientV2")
@routes.post("/v1/rerank", tag="Rerank", needs_reranker=True, note="Cohere, Jina")
async def cohere_rerank(pipeline: Pipeline, body: RerankRequest) -> Any:
    """``documents`` ranked for ``query`` by the reranker ``model`` (default: the first), best first, the
    first ``top_n`` only when given; ``relevance_score`` is ``CrossEncoder.predict``'s score (the model's
    activation, Sigmoid by default). Documents are strings or ``{"text": ...}`` objects; pairs over the
    token limit are cut, as ``predict`` cuts them."""
    documents, scored, ranked = await _ranked(pipeline, body)
    results = []
    for index, score in ranked:
        result: dict[str, Any] = {"index": index, "relevance_score": score}
        if body.return_documents:
            result["document"] = {"text": documents[index]}
        results.append(result)
    return {
        "id": str(uuid.uuid4()),
        "model": scored.reranker.name,
        "results": results,
        "usage": {"total_tokens": scored.tokens},  # Jina's
        "meta": {"api_version": {"version": "2"}, "billed_units": {"search_units": 1}},  # Cohere's
    }


async def infinity_rerank(pipeline: Pipeline, body: RerankRequest, raw_scores: bool = False) -> Any:
    """Cohere's body answered as infinity's ``POST /rerank`` answers it (what LiteLLM's ``infinity/``
    reranker and infinity's own clients parse): ``document`` is the text itself, not ``{"text": ...}``, and
    ``usage`` counts ``prompt_tokens``; ``raw_scores`` gives the logits, as infinity's flag does."""
    documents, scored, ranked = await _ranked(pipeline, body, raw_scores)
    results = []
    for index, score in ranked:
        result: dict[str, Any] = {"relevance_score": score, "index": index}
        if body.return_documents:
            result["document"] = documents[index]
        results.append(result)
    return {
        "object": "rerank",
        "results": results,
        "model": scored.reranker.name,
        "usage": {"prompt_tokens": scored.tokens, "total_tokens": scored.tokens},
        "id": f"sbert-{uuid.uuid4()}",
        "created": int(time.time()),
    }


async def _ranked(
    pipeline: Pipeline, body: RerankRequest, raw_scores: bool = False
) -> tuple[list[str], Scored, list[tuple[int, float]]]:
    """The documents, their scoring, and ``[(index, score)]`` best first (the first ``top_n`` only)."""
    from ..reranking import ranking

    inputs = body.pair_inputs()
    scored = await pipeline.rerank(inputs, pipeline.reranker(body.model))
    return inputs.documents, scored, ranking(scored.reranker.scores(scored.logits, raw_scores), body.top_n)
