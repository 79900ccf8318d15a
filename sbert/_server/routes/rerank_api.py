"""The rerank protocol of Cohere and Jina: ``POST /v1/rerank`` (``{model, query, documents, top_n,
return_documents}`` -> ``{results: [{index, relevance_score, document?}], ...}``), and ``POST /v2/rerank``,
where Cohere's ClientV2 sends the same body."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from .registry import Routes

if TYPE_CHECKING:
    from ..pipeline import Pipeline
    from ..schemas import RerankRequest

routes = Routes()


@routes.post("/v2/rerank", tag="Rerank", needs_reranker=True, note="Cohere's ClientV2")
@routes.post("/v1/rerank", tag="Rerank", needs_reranker=True, note="Cohere, Jina")
async def cohere_rerank(pipeline: Pipeline, body: RerankRequest) -> Any:
    """``documents`` ranked for ``query`` by the reranker ``model`` (default: the first), best first, the
    first ``top_n`` only when given; ``relevance_score`` is ``CrossEncoder.predict``'s score (the model's
    activation, Sigmoid by default). Documents are strings or ``{"text": ...}`` objects; pairs over the
    token limit are cut, as ``predict`` cuts them."""
    from ..reranking import ranking

    inputs = body.pair_inputs()
    scored = await pipeline.rerank(inputs, pipeline.reranker(body.model))
    results = []
    for index, score in ranking(scored.reranker.scores(scored.logits), body.top_n):
        result: dict[str, Any] = {"index": index, "relevance_score": score}
        if body.return_documents:
            result["document"] = {"text": inputs.documents[index]}
        results.append(result)
    return {
        "id": str(uuid.uuid4()),
        "model": scored.reranker.name,
        "results": results,
        "usage": {"total_tokens": scored.tokens},  # Jina's
        "meta": {"api_version": {"version": "2"}, "billed_units": {"search_units": 1}},  # Cohere's
    }
