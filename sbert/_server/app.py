"""The HTTP side: FastAPI routes for the OpenAI and TEI protocols, a gate middleware, the error handlers.

Every request passes the gate (``_Gate``) first: it refuses requests while the server drains (503),
checks the API key (401), reads the body up to the size limit (413) and counts requests for ``/metrics``.
Embedding routes then take a slot of the admission limit (429 when all are taken), tokenize in a thread
pool and wait on the model's batcher; ``/search`` embeds its queries the same way, then searches the index
in a thread. Errors are raised and rendered by one handler through ``errors.ERROR_TABLE``.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hmac
import logging
import time
from collections.abc import AsyncIterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from importlib import resources
from typing import Any, TypeVar

import numpy as np
import orjson
from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from .._errors import SbertError
from .._numeric import normalize
from .._version import __version__
from .engine import Batcher, ServedModel
from .errors import (
    ApiError,
    InvalidJson,
    InvalidRequest,
    MethodNotAllowed,
    NotFound,
    Overloaded,
    ShuttingDown,
    TooLarge,
    Unauthorized,
    error_body,
    summarize_validation,
)
from .index import ServedIndex
from .metrics import CONTENT_TYPE, ServerMetrics
from .schemas import (
    EmbedRequest,
    OpenAIEmbeddingRequest,
    SearchRequest,
    SimilarityMatrixRequest,
    SimilarityRequest,
    TokenizeRequest,
)

log = logging.getLogger("sbert.server")

# Paths that answer without an API key and while draining; they do no model work.
OPEN_PATHS = frozenset({"/", "/health"})
# Paths that are not counted as in-flight work for the drain on SIGTERM.
LIGHT_PATHS = frozenset({"/", "/health", "/metrics", "/info", "/v1/models"})
RETRY_AFTER_SECONDS = 1
Schema = TypeVar("Schema", bound=BaseModel)


class ServerState:
    """What the routes share: the models, their batchers, the index, the limits, the counters."""

    def __init__(
        self,
        models: dict[str, ServedModel],
        *,
        api_key: str | None,
        max_concurrent_requests: int,
        max_input_items: int,
        max_body_bytes: int,
        aliases: dict[str, str] | None = None,
        index: ServedIndex | None = None,
    ) -> None:
        self.models = models
        self.index = index
        self.default = next(iter(models))
        self.aliases = dict(aliases or {})
        self.api_key = api_key
        self.max_concurrent_requests = max_concurrent_requests
        self.max_input_items = max_input_items
        self.max_body_bytes = max_body_bytes
        self.admitted = 0  # requests holding an admission slot (tokenizing or waiting for the model)
        self.in_flight = 0  # requests past the gate, not yet answered (the drain waits for these)
        self.draining = False
        self.metrics = ServerMetrics(
            queue_depth=lambda: [((name,), float(b.depth())) for name, b in self.batchers.items()],
            in_flight=lambda: float(self.in_flight),
        )
        self.batchers = {name: Batcher(served, self.metrics) for name, served in models.items()}
        self.tokenize_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="sbert-tokenize")
        # faiss parallelizes one search itself; two threads let a long search not hold up the next.
        self.search_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="sbert-search")

    def model(self, name: str | None) -> ServedModel:
        if name is None:
            return self.models[self.default]
        found = self.models.get(self.aliases.get(name, name))
        if found is None:
            raise NotFound(
                f"model {name!r} is not served here; this server has: {', '.join(map(repr, self.models))}."
            )
        return found

    @contextlib.contextmanager
    def admission(self) -> Any:
        """A slot of ``--max-concurrent-requests``, or 429 with Retry-After when none is free."""
        if self.admitted >= self.max_concurrent_requests:
            self.metrics.rejected.inc("overloaded")
            raise Overloaded(
                f"the server is at its limit of {self.max_concurrent_requests} concurrent requests "
                f"(--max-concurrent-requests); retry after {RETRY_AFTER_SECONDS} s.",
                headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
            )
        self.admitted += 1  # only the event loop thread touches this counter: no lock needed
        try:
            yield
        finally:
            self.admitted -= 1

    async def embed(
        self,
        served: ServedModel,
        texts: list[str],
        *,
        truncate: bool,
        side: str = "right",
        prompt_name: str | None = None,
    ) -> tuple[np.ndarray, int]:
        """``(n, d)`` embeddings of ``texts`` in order, and their token count."""
        if len(texts) > self.max_input_items:
            raise TooLarge(
                f"{len(texts)} inputs in one request; the limit is {self.max_input_items} (--max-input-items): "
                "split the request."
            )
        prompt = served.prompt(prompt_name)
        if prompt:
            texts = [prompt + text for text in texts]
        with self.admission():
            loop = asyncio.get_running_loop()
            encodings = await loop.run_in_executor(self.tokenize_pool, served.tokenize, texts, side)
            if not truncate:
                for i, encoding in enumerate(encodings):
                    if encoding.overflowing:
                        raise TooLarge(
                            f"input {i} is longer than the limit of {served.max_length} tokens of model "
                            f"{served.name!r}; shorten it or send truncate=true."
                        )
            vectors = await self.batchers[served.name].embed(encodings)
        return vectors, sum(len(e.ids) for e in encodings)

    def start(self) -> None:
        for name, batcher in self.batchers.items():
            self.models[name].warm_up()
            batcher.start()

    def close(self) -> None:
        for batcher in self.batchers.values():
            batcher.close()
        self.tokenize_pool.shutdown(wait=False, cancel_futures=True)
        self.search_pool.shutdown(wait=False, cancel_futures=True)


# ---------------------------------------------------------------------------------------------- the gate


class _Gate:
    """Pure ASGI middleware: drain (503), API key (401), body size (413), request metrics."""

    def __init__(self, app: Any, state: ServerState, routes: frozenset[str]) -> None:
        self.app = app
        self.state = state
        self.routes = routes

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state, path = self.state, scope["path"]
        started = time.perf_counter()
        status = [500]

        async def send_and_record(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        counted = path not in LIGHT_PATHS
        try:
            if state.draining and path not in OPEN_PATHS:
                state.metrics.rejected.inc("draining")
                raise ShuttingDown(
                    "the server is shutting down and takes no new requests; retry on another instance.",
                    headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
                )
            if state.api_key is not None and path not in OPEN_PATHS:
                _check_api_key(scope, state.api_key)
            body = await _read_body(receive, state.max_body_bytes, _content_length(scope))
            if body is None:
                return  # the client disconnected
            if counted:
                state.in_flight += 1
            try:
                await self.app(scope, _replay(body, receive), send_and_record)
            finally:
                if counted:
                    state.in_flight -= 1
        except ApiError as error:
            await _send_error(send_and_record, error, path)
        finally:
            route = path if path in self.routes else "other"
            state.metrics.requests.inc(route, str(status[0]))
            state.metrics.request_seconds.observe(time.perf_counter() - started, route)


def _check_api_key(scope: dict[str, Any], api_key: str) -> None:
    header = dict(scope["headers"]).get(b"authorization", b"").decode("latin-1")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), api_key.encode()):
        reason = "no API key" if not header else "a wrong API key"
        raise Unauthorized(
            f"{reason}: send the server's key in the header 'Authorization: Bearer KEY'.",
            headers={"WWW-Authenticate": "Bearer"},
        )


def _content_length(scope: dict[str, Any]) -> int | None:
    value = dict(scope["headers"]).get(b"content-length")
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


async def _read_body(receive: Any, limit: int, declared: int | None) -> bytes | None:
    too_large = TooLarge(f"the request body is larger than the limit of {limit} bytes (--max-body-bytes).")
    if declared is not None and declared > limit:
        raise too_large  # refused before reading a byte of it
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay(body: bytes, receive: Any) -> Any:
    sent = False

    async def replay() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()  # after the body: wait for the disconnect, as the server would

    return replay


async def _send_error(send: Any, error: BaseException, path: str) -> None:
    status, body, headers = error_body(error, path)
    raw_headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw_headers += [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": body})


# ---------------------------------------------------------------------------------------------- helpers


def _json(value: Any, status: int = 200) -> Response:
    return Response(
        orjson.dumps(value, option=orjson.OPT_SERIALIZE_NUMPY),
        status_code=status,
        media_type="application/json",
    )


async def _parse(request: Request, schema: type[Schema]) -> Schema:
    """The body validated against ``schema``: 400 for a body that is not JSON, 422 for wrong fields."""
    body = await request.body()
    if not body.strip():
        raise InvalidJson("the request body is empty; send a JSON object.")
    try:
        return schema.model_validate_json(body)
    except ValidationError as e:
        errors = e.errors(include_url=False, include_input=False)
        if any(error["type"] == "json_invalid" for error in errors):
            raise InvalidJson(f"the body is not valid JSON (UTF-8): {errors[0]['msg']}.") from None
        raise InvalidRequest(summarize_validation(errors)) from None


def _matryoshka(vectors: np.ndarray, dimensions: int | None, served: ServedModel) -> np.ndarray:
    """The first ``dimensions`` columns (all when None), checked against the model's dimension."""
    if dimensions is None:
        return vectors
    if not 1 <= dimensions <= served.dimension:
        raise InvalidRequest(
            f"dimensions must be between 1 and {served.dimension} (the dimension of model {served.name!r}), "
            f"got {dimensions}."
        )
    return vectors[:, :dimensions]


def _side(direction: str) -> str:
    return direction.lower()


# ---------------------------------------------------------------------------------------------- the app


def build_app(
    models: dict[str, ServedModel],
    *,
    api_key: str | None = None,
    max_concurrent_requests: int = 512,
    max_input_items: int = 256,
    max_body_bytes: int = 2_000_000,
    aliases: dict[str, str] | None = None,
    index: ServedIndex | None = None,
) -> FastAPI:
    state = ServerState(
        models,
        api_key=api_key,
        max_concurrent_requests=max_concurrent_requests,
        max_input_items=max_input_items,
        max_body_bytes=max_body_bytes,
        aliases=aliases,
        index=index,
    )

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

    @app.post("/v1/embeddings", tags=["OpenAI"])
    async def openai_embeddings(request: Request) -> Response:
        """Embeddings in the OpenAI format; always normalized, ``dimensions`` truncates and re-normalizes."""
        req = await _parse(request, OpenAIEmbeddingRequest)
        served = state.model(req.model)
        vectors, tokens = await state.embed(served, req.input, truncate=req.truncate)
        vectors = normalize(np.ascontiguousarray(_matryoshka(vectors, req.dimensions, served)))
        if req.encoding_format == "base64":
            little = vectors.astype("<f4", copy=False)
            items: Sequence[Any] = [base64.b64encode(row.tobytes()).decode("ascii") for row in little]
        else:
            items = list(vectors)
        data = [{"object": "embedding", "index": i, "embedding": item} for i, item in enumerate(items)]
        return _json(
            {
                "object": "list",
                "data": data,
                "model": served.name,
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            }
        )

    @app.get("/v1/models", tags=["OpenAI"])
    async def openai_models() -> Response:
        data = [{"id": name, "object": "model", "created": 0, "owned_by": "sbert"} for name in state.models]
        return _json({"object": "list", "data": data})

    @app.post("/embed", tags=["TEI"])
    async def embed(request: Request) -> Response:
        """Embeddings as ``[[float]]``, as text-embeddings-inference returns them."""
        req = await _parse(request, EmbedRequest)
        served = state.model(req.model)
        _matryoshka(np.empty((0, served.dimension)), req.dimensions, served)  # check before the work
        vectors, _ = await state.embed(
            served,
            req.inputs,
            truncate=req.truncate,
            side=_side(req.truncation_direction),
            prompt_name=req.prompt_name,
        )
        vectors = np.ascontiguousarray(_matryoshka(vectors, req.dimensions, served))
        return _json(normalize(vectors) if req.normalize else vectors)

    @app.post("/similarity", tags=["TEI"])
    async def similarity(request: Request) -> Response:
        """Similarity of ``source_sentence`` to each of ``sentences``, with the model's similarity function."""
        req = await _parse(request, SimilarityRequest)
        served = state.model(req.model)
        texts = [req.inputs.source_sentence, *req.inputs.sentences]
        vectors, _ = await state.embed(
            served,
            texts,
            truncate=req.truncate,
            side=_side(req.truncation_direction),
            prompt_name=req.prompt_name,
        )
        return _json(served.similarity(vectors[:1], vectors[1:])[0])

    @app.post("/similarity/matrix", tags=["sbert"])
    async def similarity_matrix(request: Request) -> Response:
        """The ``(n, n)`` similarity matrix of ``inputs`` (what the playground draws)."""
        req = await _parse(request, SimilarityMatrixRequest)
        served = state.model(req.model)
        vectors, _ = await state.embed(
            served,
            req.inputs,
            truncate=req.truncate,
            side=_side(req.truncation_direction),
            prompt_name=req.prompt_name,
        )
        return _json(served.similarity(vectors, vectors))

    @app.post("/tokenize", tags=["TEI"])
    async def tokenize(request: Request) -> Response:
        """The tokens each input becomes (after truncation), with character offsets."""
        req = await _parse(request, TokenizeRequest)
        served = state.model(req.model)
        if len(req.inputs) > state.max_input_items:
            raise TooLarge(
                f"{len(req.inputs)} inputs; the limit is {state.max_input_items} (--max-input-items)."
            )
        prompt = served.prompt(req.prompt_name)
        texts = [prompt + text for text in req.inputs]
        with state.admission():
            loop = asyncio.get_running_loop()
            encodings = await loop.run_in_executor(state.tokenize_pool, served.tokenize, texts, "right")
        out = []
        for text, encoding in zip(texts, encodings):
            tokens = []
            for token_id, token, (start, stop), special in zip(
                encoding.ids, encoding.tokens, encoding.offsets, encoding.special_tokens_mask
            ):
                if special and not req.add_special_tokens:
                    continue
                tokens.append(
                    {
                        "id": token_id,
                        "text": token,
                        "special": bool(special),
                        "start": None if special else start,
                        "stop": None if special else stop,
                    }
                )
            out.append(tokens)
        return _json(out)

    @app.post("/search", tags=["sbert"])
    async def search(request: Request) -> Response:
        """The ``k`` texts of the index closest to each query, best first:
        ``{"model", "results": [[{"rank", "id", "text", "score"}, ...], ...]}``, one list per query."""
        served_index = state.index
        if served_index is None:
            raise NotFound(
                "this server has no index to search: start it with `sbert serve --index INDEX_DIR` "
                "(build one with `sbert index build CORPUS -o INDEX_DIR`)."
            )
        req = await _parse(request, SearchRequest)
        served = served_index.model
        if req.model is not None and state.model(req.model) is not served:
            raise InvalidRequest(
                f'the index was built with model {served.name!r}, not {req.model!r}: send "model": '
                f'{served.name!r} or leave "model" out.'
            )
        # The same path as /embed: tokenized off the loop, embedded in the model's shared batches.
        vectors, _ = await state.embed(served, req.query, truncate=True)
        started = time.perf_counter()
        loop = asyncio.get_running_loop()
        hits = await loop.run_in_executor(state.search_pool, served_index.search, vectors, req.k)
        state.metrics.search_seconds.observe(time.perf_counter() - started)
        results = [
            [
                {"rank": rank, "id": hit.id, "text": hit.text, "score": hit.score}
                for rank, hit in enumerate(row, start=1)
            ]
            for row in hits
        ]
        return _json({"model": served.name, "results": results})

    @app.get("/health", tags=["server"])
    async def health() -> Response:
        """200 while serving; 503 once draining after SIGTERM, so load balancers stop sending."""
        if state.draining:
            return _json({"status": "draining"}, status=503)
        return _json({"status": "ok"})

    @app.get("/info", tags=["server"])
    async def info() -> Response:
        default = state.models[state.default]
        return _json(
            {
                "model_id": default.name,
                "model_type": "embedding",
                "dimension": default.dimension,
                "max_input_length": default.max_length,
                "backend": default.backend,
                "precision": default.precision,
                "version": __version__,
                "max_concurrent_requests": state.max_concurrent_requests,
                "max_input_items": state.max_input_items,
                "max_client_batch_size": state.max_input_items,
                "max_batch_tokens": default.max_batch_tokens,
                "max_body_bytes": state.max_body_bytes,
                "models": [served.describe() for served in state.models.values()],
                "index": state.index.describe() if state.index is not None else None,
            }
        )

    @app.get("/metrics", tags=["server"])
    async def metrics() -> Response:
        """Prometheus text format: requests by status, queue depth, batch sizes, tokens/s, latencies."""
        return Response(state.metrics.render(), media_type=CONTENT_TYPE)

    @app.get("/", include_in_schema=False)
    async def playground() -> Response:
        page = resources.files("sbert._server").joinpath("playground.html").read_bytes()
        return Response(page, media_type="text/html; charset=utf-8")

    async def api_error(request: Request, error: Exception) -> Response:
        status, body, headers = error_body(error, request.url.path)
        if status == 500:
            log.error("error while serving %s", request.url.path, exc_info=error)
        return Response(body, status_code=status, headers=headers, media_type="application/json")

    async def http_error(request: Request, error: Exception) -> Response:
        assert isinstance(error, StarletteHTTPException)
        mapped: Exception
        if error.status_code == 404:
            mapped = NotFound(f"no route {request.url.path!r}; see GET /docs for the routes of this server.")
        elif error.status_code == 405:
            mapped = MethodNotAllowed(f"{request.method} is not allowed on {request.url.path!r}.")
        else:
            mapped = InvalidRequest(str(error.detail))
        return await api_error(request, mapped)

    async def validation_error(request: Request, error: Exception) -> Response:
        assert isinstance(error, RequestValidationError)
        return await api_error(request, InvalidRequest(summarize_validation(list(error.errors()))))

    app.add_exception_handler(SbertError, api_error)  # ApiError and sbert's own InputError: 4xx by the table
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(Exception, api_error)  # last resort: a generic 500, the traceback in the log
    routes = frozenset(route.path for route in app.routes if hasattr(route, "path"))
    app.add_middleware(_Gate, state=state, routes=routes)
    return app
