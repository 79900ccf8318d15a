"""The route table: what a handler declares about itself (method, path, protocol tag, access), nothing more.

A leaf, importable without the server extra: ``sbert serve --help`` lists the routes from it. Protocol
modules therefore import ``schemas`` and ``pipeline`` (pydantic, FastAPI) for type checking only; the
schema a body is parsed into is read from the annotation of the handler's ``body`` parameter.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

Handler = Callable[..., Awaitable[Any]]


@dataclass(frozen=True)
class Reply:
    """A handler's answer when it is not JSON with status 200: ``body`` is JSON-encoded unless
    ``media_type`` is given, in which case it is sent as it is (bytes or text)."""

    body: Any
    status: int = 200
    media_type: str | None = None


@dataclass(frozen=True)
class Route:
    """One endpoint. ``public``: no API key needed, and it answers while draining. ``light``: it does no
    model work, so the drain on SIGTERM does not wait for it. ``needs_index``, ``needs_reranker``: 404 on a
    server without an index (a reranker), before the body is read. ``note``: a few words for the route list
    of ``sbert serve --help``."""

    method: str
    path: str
    tag: str
    handler: Handler
    body: str | None = None  # the name of the ``schemas`` class the body is parsed into
    public: bool = False
    light: bool = False
    needs_index: bool = False
    needs_reranker: bool = False
    in_schema: bool = True
    note: str = ""


class Routes:
    """The routes of one protocol module, in the order they are declared."""

    def __init__(self) -> None:
        self.routes: list[Route] = []

    def get(self, path: str, *, tag: str, **options: Any) -> Callable[[Handler], Handler]:
        return self._add("GET", path, tag, options)

    def post(self, path: str, *, tag: str, **options: Any) -> Callable[[Handler], Handler]:
        return self._add("POST", path, tag, options)

    def _add(self, method: str, path: str, tag: str, options: dict[str, Any]) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            route = Route(method, path, tag, handler, body=body_schema(handler), **options)
            self.routes.append(route)
            return handler

        return register


def body_schema(handler: Handler) -> str | None:
    """The class name the handler's ``body`` parameter is annotated with, or None for a route without body."""
    parameter = inspect.signature(handler).parameters.get("body")
    if parameter is None:
        return None
    annotation = parameter.annotation
    return annotation if isinstance(annotation, str) else annotation.__name__
