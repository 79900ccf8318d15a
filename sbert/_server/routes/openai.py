"""The OpenAI protocol: ``POST /v1/embeddings``, ``GET /v1/models`` and ``GET /v1/models/{model}``."""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any

from ..._numeric import normalize
from ..errors import NotFound
from .registry import Routes

if TYPE_CHECKING:
    from ..pipeline import Pipeline
    from ..schemas import OpenAIEmbeddingRequest
    from ..state import ServerState

routes = Routes()


@routes.post("/embeddings", tag="OpenAI", in_schema=False, note="infinity's path (LiteLLM's infinity/)")
@routes.post("/v1/embeddings", tag="OpenAI")
async def openai_embeddings(pipeline: Pipeline, body: OpenAIEmbeddingRequest) -> Any:
    """Embeddings in the OpenAI format; always normalized, ``dimensions`` truncates and re-normalizes."""
    served = pipeline.model(body.model)
    served.check_dimensions(body.dimensions)  # before the work
    embedded = await pipeline.embed(body, served)
    vectors = normalize(served.keep_dimensions(embedded.vectors, body.dimensions))
    items = base64_rows(vectors) if body.encoding_format == "base64" else list(vectors)
    tokens = embedded.tokens
    return {
        "object": "list",
        "data": [{"object": "embedding", "index": i, "embedding": item} for i, item in enumerate(items)],
        "model": embedded.model.name,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }


@routes.get("/v1/models", tag="OpenAI", light=True)
async def openai_models(pipeline: Pipeline) -> Any:
    """Everything served, as OpenAI's model list (``client.models.list()``): the embedding models, then the
    sparse models, rerankers and classifiers; ``capabilities`` (infinity's field) says which routes take
    each."""
    served = _served(pipeline.state)
    return {"object": "list", "data": [_model_object(name, capability) for name, capability, _ in served]}


# a model id may hold a slash (a Hub name), which OpenAI's client puts in the path as it is
@routes.get("/v1/models/{model:path}", tag="OpenAI", light=True, note="client.models.retrieve")
async def openai_model(pipeline: Pipeline, model: str) -> Any:
    """One served model (of any kind), as ``GET /v1/models`` lists it (an alias answers with the full id);
    404 naming those served."""
    served = _served(pipeline.state)
    for name, capability, aliases in served:
        if aliases.get(model, model) == name:
            return _model_object(name, capability)
    names = ", ".join(repr(name) for name, _, _ in served)
    raise NotFound(f"model {model!r} is not served here; this server has: {names}.")


def _served(state: ServerState) -> list[tuple[str, str, dict[str, str]]]:
    """``(name, capability, aliases of that kind)`` of everything served, embedding models first."""
    kinds = (
        ("embed", state.models, state.aliases),
        ("embed_sparse", state.sparse_models, state.sparse_aliases),
        ("rerank", state.rerankers, state.reranker_aliases),
        ("classify", state.classifiers, state.classifier_aliases),
    )
    return [(name, capability, aliases) for capability, names, aliases in kinds for name in names]


def base64_rows(vectors: Any) -> list[str]:
    """Each row's little-endian float32 bytes in base64: OpenAI's and Cohere's ``base64`` encoding."""
    little = vectors.astype("<f4", copy=False)
    return [base64.b64encode(row.tobytes()).decode("ascii") for row in little]


def _model_object(name: str, capability: str) -> dict[str, Any]:
    return {"id": name, "object": "model", "created": 0, "owned_by": "sbert", "capabilities": [capability]}
