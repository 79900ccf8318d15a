"""Every route of the server, grouped by protocol: one module each, one handler per endpoint.

``openai`` (``/v1/embeddings``, ``/v1/models``), ``tei`` (``/embed``, ``/similarity``, ``/rerank``,
``/tokenize``), ``rerank_api`` (Cohere's and Jina's ``/v1/rerank``), ``cohere`` (Cohere's ``/v1/embed`` and
``/v2/embed``) and ``native`` (sbert's own). Adding an endpoint is one handler in one of them, plus its
body's schema in ``schemas``. This package is light (no FastAPI, no pydantic), so the CLI can list the
routes in its help.
"""

from __future__ import annotations

from . import cohere, native, openai, rerank_api, tei
from .registry import Reply, Route

# The order of the OpenAPI document, and of the route list in ``sbert serve --help``.
ROUTES: tuple[Route, ...] = (
    *openai.routes.routes,
    *tei.routes.routes,
    *rerank_api.routes.routes,
    *cohere.routes.routes,
    *native.routes.routes,
)

__all__ = ["ROUTES", "Reply", "Route"]
