"""The FastAPI app: the declared routes on the one pipeline, the error handlers, the gate in front.

Every request passes the gate (``gate.Gate``) first, then the endpoint ``pipeline.endpoint`` made for its
route, then the route's handler. Errors are raised, never built by hand, and rendered by one handler through
``errors.ERROR_TABLE``; routes FastAPI does not know (404, 405) and its own validation errors too.
"""

from __future__ import annotations

import contextlib
import inspect
import logging
from collections.abc import AsyncIterator

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from .._errors import SbertError
from .._version import __version__
from .errors import InvalidRequest, MethodNotAllowed, NotFound, error_body, summarize_validation
from .gate import Gate
from .pipeline import Pipeline, endpoint
from .routes import ROUTES
from .state import ServerState

log = logging.getLogger("sbert.server")


def build_app(state: ServerState) -> FastAPI:
    """The app serving ``state``: its batchers start with the app and stop with it."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state.start()
        try:
            yield
        finally:
            state.close()

    app = FastAPI(
        title="sbert",
        version=__version__,
        description="Sentence embeddings over HTTP: the OpenAI and text-embeddings-inference protocols.",
        lifespan=lifespan,
    )
    app.state.sbert = state
    pipeline = Pipeline(state)
    for route in ROUTES:
        app.add_api_route(
            route.path,
            endpoint(route, pipeline),
            methods=[route.method],
            name=route.handler.__name__,  # the OpenAPI operation ids and summaries come from the handler
            description=inspect.cleandoc(route.handler.__doc__ or ""),
            tags=[route.tag] if route.in_schema else None,
            include_in_schema=route.in_schema,
        )
        if route.method == "GET":  # HEAD too, as TEI (axum) answers it: load balancers probe with it
            head = endpoint(route, pipeline)
            app.add_api_route(route.path, head, methods=["HEAD"], include_in_schema=False)
    _add_error_handlers(app)
    app.add_middleware(
        Gate,
        state=state,
        routes=frozenset(route.path for route in app.routes if hasattr(route, "path")),
        public=frozenset((route.method, route.path) for route in ROUTES if route.public),
        light=frozenset((route.method, route.path) for route in ROUTES if route.light),
    )
    return app


def _add_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(SbertError, _api_error)  # ApiError and sbert's own InputError: 4xx by the table
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _api_error)  # last resort: a generic 500, the traceback in the log


async def _api_error(request: Request, error: Exception) -> Response:
    status, body, headers = error_body(error, request.url.path)
    if status == 500:
        log.error("error while serving %s", request.url.path, exc_info=error)
    return Response(body, status_code=status, headers=headers, media_type="application/json")


async def _http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, StarletteHTTPException)
    mapped: Exception
    if error.status_code == 404:
        mapped = NotFound(f"no route {request.url.path!r}; see GET /docs for the routes of this server.")
    elif error.status_code == 405:
        mapped = MethodNotAllowed(f"{request.method} is not allowed on {request.url.path!r}.")
    else:
        mapped = InvalidRequest(str(error.detail))
    return await _api_error(request, mapped)


async def _validation_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, RequestValidationError)
    return await _api_error(request, InvalidRequest(summarize_validation(list(error.errors()))))
