"""Cohere's embed protocol: ``POST /v1/embed`` and ``POST /v2/embed`` (``{texts, input_type,
embedding_types, truncate}`` -> ``{id, embeddings, texts, meta}``), what Cohere's SDKs and LangChain's
CohereEmbeddings call. Cohere's rerank is in ``rerank_api``."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from ..._numeric import normalize
from .openai import base64_rows
from .registry import Routes

if TYPE_CHECKING:
    from ..pipeline import Pipeline
    from ..schemas import CohereEmbedRequest

routes = Routes()


@routes.post("/v1/embed", tag="Cohere")
async def cohere_embed_v1(pipeline: Pipeline, body: CohereEmbedRequest) -> Any:
    """Unit-length embeddings of ``texts``: a list of float vectors, or one list per requested type."""
    reply = await _embeddings(pipeline, body)
    if body.embedding_types is None:
        return {**reply, "response_type": "embeddings_floats", "embeddings": reply["embeddings"]["float"]}
    return {**reply, "response_type": "embeddings_by_type"}


@routes.post("/v2/embed", tag="Cohere", note="ClientV2")
async def cohere_embed_v2(pipeline: Pipeline, body: CohereEmbedRequest) -> Any:
    """Unit-length embeddings of ``texts``, one list per requested type (default: float)."""
    return {**await _embeddings(pipeline, body), "response_type": "embeddings_by_type"}


async def _embeddings(pipeline: Pipeline, body: CohereEmbedRequest) -> dict[str, Any]:
    served = pipeline.model(body.model)
    served.check_dimensions(body.output_dimension, "output_dimension")  # before the work
    embedded = await pipeline.embed(body, served)
    vectors = normalize(served.keep_dimensions(embedded.vectors, body.output_dimension))
    by_type = {kind: _typed(vectors, kind) for kind in body.embedding_types or ["float"]}
    meta = {"api_version": {"version": "2"}, "billed_units": {"input_tokens": embedded.tokens}}
    return {"id": str(uuid.uuid4()), "embeddings": by_type, "texts": body.texts, "meta": meta}


def _typed(vectors: Any, kind: str) -> Any:
    """The unit vectors as one of Cohere's embedding types (the request's schema checked ``kind``)."""
    from ..._search.quantize import quantize_embeddings

    if kind == "float":
        return vectors
    if kind == "base64":
        return base64_rows(vectors)
    return quantize_embeddings(vectors, kind).astype(int)
