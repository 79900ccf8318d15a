"""The OpenAI protocol: ``POST /v1/embeddings`` and ``GET /v1/models``."""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any

from ..._numeric import normalize
from .registry import Routes

if TYPE_CHECKING:
    from ..pipeline import Pipeline
    from ..schemas import OpenAIEmbeddingRequest

routes = Routes()


@routes.post("/v1/embeddings", tag="OpenAI")
async def openai_embeddings(pipeline: Pipeline, body: OpenAIEmbeddingRequest) -> Any:
    """Embeddings in the OpenAI format; always normalized, ``dimensions`` truncates and re-normalizes."""
    embedded = await pipeline.embed(body)
    vectors = normalize(embedded.model.keep_dimensions(embedded.vectors, body.dimensions))
    if body.encoding_format == "base64":
        little = vectors.astype("<f4", copy=False)
        items: list[Any] = [base64.b64encode(row.tobytes()).decode("ascii") for row in little]
    else:
        items = list(vectors)
    tokens = embedded.tokens
    return {
        "object": "list",
        "data": [{"object": "embedding", "index": i, "embedding": item} for i, item in enumerate(items)],
        "model": embedded.model.name,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }


@routes.get("/v1/models", tag="OpenAI", light=True)
async def openai_models(pipeline: Pipeline) -> Any:
    names = [*pipeline.state.models, *pipeline.state.rerankers]  # the rerankers answer POST /v1/rerank
    data = [{"id": name, "object": "model", "created": 0, "owned_by": "sbert"} for name in names]
    return {"object": "list", "data": data}
