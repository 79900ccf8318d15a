"""The gate every request passes first: drain (503), API key (401), body size (413), request metrics.

A pure ASGI middleware, so a refused request costs no routing, no parsing and no model work; it renders
its refusals through the same error table as the routes.
"""

from __future__ import annotations

import hmac
import time
from typing import Any

from .errors import ApiError, ShuttingDown, TooLarge, Unauthorized, error_body
from .state import RETRY_AFTER_SECONDS, ServerState


class Gate:
    """Pure ASGI middleware: drain (503), API key (401), body size (413), request metrics."""

    def __init__(
        self,
        app: Any,
        state: ServerState,
        routes: frozenset[str],
        public: frozenset[tuple[str, str]],
        light: frozenset[tuple[str, str]],
    ) -> None:
        self.app = app
        self.state = state
        self.routes = routes  # every path of the app: the others are counted as "other" in the metrics
        # the templated paths ("/v1/models/{model:path}") by the fixed part they start with
        self.templates = tuple((route.split("{")[0], route) for route in sorted(routes) if "{" in route)
        # (method, path) pairs, as one path may serve a page (GET /) and take work (POST /):
        self.public = public  # no API key needed, answered while draining
        self.light = light  # not counted as in-flight work for the drain on SIGTERM

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state, path = self.state, scope["path"]
        route = self._route(path)
        # HEAD is GET without the body: public and light where GET is
        endpoint = ("GET" if scope["method"] == "HEAD" else scope["method"], route)
        started = time.perf_counter()
        status = [500]

        async def send_and_record(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        counted = endpoint not in self.light
        try:
            if state.draining and endpoint not in self.public:
                state.metrics.rejected.inc("draining")
                raise ShuttingDown(
                    "the server is shutting down and takes no new requests; retry on another instance.",
                    headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
                )
            if state.api_key is not None and endpoint not in self.public:
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
            state.metrics.requests.inc(route, str(status[0]))
            state.metrics.request_seconds.observe(time.perf_counter() - started, route)

    def _route(self, path: str) -> str:
        """The app's path ``path`` is served by (its template for a templated one), or "other"."""
        if path in self.routes:
            return path
        for start, template in self.templates:
            if path.startswith(start) and len(path) > len(start):
                return template
        return "other"


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
