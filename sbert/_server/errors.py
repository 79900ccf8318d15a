"""The server's errors and the one table that maps every exception to an HTTP status.

Handlers raise; they never build error responses themselves. ``error_response`` looks the exception up
in ``ERROR_TABLE`` (first match wins) and renders the body in the protocol of the route: OpenAI's
``{"error": {"message", "type", ...}}`` under ``/v1/``, TEI's ``{"error", "error_type"}`` elsewhere.
Messages say what was wrong and what to do; nothing from a traceback ever reaches a client.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from .._errors import InputError, SbertError


class ApiError(SbertError):
    """A request the server refuses; its class decides the status through ``ERROR_TABLE``."""

    def __init__(self, message: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.headers = headers or {}


class InvalidJson(ApiError):
    """The body is not a JSON document (or not UTF-8)."""


class BadInput(ApiError):
    """Well-typed but unusable input: an empty list, token ids instead of text."""


class InvalidRequest(ApiError):
    """A field has the wrong type or value (pydantic's messages, summarized)."""


class Unauthorized(ApiError):
    """A missing or wrong API key."""


class NotFound(ApiError):
    """An unknown model, or a path the server does not have."""


class MethodNotAllowed(ApiError):
    """A path called with the wrong HTTP method."""


class TooLarge(ApiError):
    """A limit was exceeded: body size, number of inputs, tokens per input; the message names the limit."""


class Overloaded(ApiError):
    """The server holds as many requests as it admits (--max-concurrent-requests); retry later."""


class ShuttingDown(ApiError):
    """The server is draining after SIGTERM and takes no new requests."""


# exception class -> (HTTP status, error type); the first matching row wins, so subclasses come first.
ERROR_TABLE: tuple[tuple[type[BaseException], int, str], ...] = (
    (InvalidJson, 400, "invalid_json"),
    (BadInput, 400, "invalid_request_error"),
    (Unauthorized, 401, "authentication_error"),
    (NotFound, 404, "not_found_error"),
    (MethodNotAllowed, 405, "method_not_allowed"),
    (TooLarge, 413, "payload_too_large"),
    (InvalidRequest, 422, "validation_error"),
    (InputError, 422, "validation_error"),  # sbert's own checks (e.g. an unknown prompt name)
    (Overloaded, 429, "overloaded"),
    (ShuttingDown, 503, "unavailable"),
    (BaseException, 500, "internal_error"),
)
# A server fault's message is generic: the details go to the log, never to the client.
INTERNAL_MESSAGE = "internal server error; the server log has the details"


def classify(error: BaseException) -> tuple[int, str]:
    for kind, status, name in ERROR_TABLE:
        if isinstance(error, kind):
            return status, name
    raise AssertionError("ERROR_TABLE ends with BaseException")  # pragma: no cover


def error_body(error: BaseException, path: str) -> tuple[int, bytes, dict[str, str]]:
    """``(status, JSON body, extra headers)`` for ``error`` raised while serving ``path``."""
    status, kind = classify(error)
    message = INTERNAL_MESSAGE if status == 500 else str(error)
    headers = dict(getattr(error, "headers", {}) or {})
    if path.startswith("/v1/"):
        body: Any = {"error": {"message": message, "type": kind, "param": None, "code": status}}
    else:
        body = {"error": message, "error_type": kind}
    return status, json.dumps(body).encode(), headers


def summarize_validation(errors: Sequence[Mapping[str, Any]], limit: int = 3) -> str:
    """One line from pydantic's errors: where and what, never the offending input (it may be huge)."""
    parts = []
    for error in errors[:limit]:
        where = ".".join(str(part) for part in error.get("loc", ())) or "body"
        message = str(error.get("msg", "invalid value")).removeprefix("Value error, ")
        parts.append(f"{where}: {message}")
    more = f" (and {len(errors) - limit} more)" if len(errors) > limit else ""
    return "; ".join(parts) + more
