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
    """Well-typed but unusable input: an empty string, token ids instead of text."""


class EmptyBatch(BadInput):
    """An empty array of inputs."""


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


# exception class -> (HTTP status, OpenAI's error type, TEI's error_type); the first matching row wins, so
# subclasses come first. TEI's names are its ErrorType's (Empty, Validation, Overloaded, Unhealthy, Backend),
# and the same style for what TEI has no name for.
ERROR_TABLE: tuple[tuple[type[BaseException], int, str, str], ...] = (
    (InvalidJson, 400, "invalid_json", "Validation"),
    (EmptyBatch, 400, "invalid_request_error", "Empty"),
    (BadInput, 400, "invalid_request_error", "Validation"),
    (Unauthorized, 401, "authentication_error", "Unauthorized"),
    (NotFound, 404, "not_found_error", "NotFound"),
    (MethodNotAllowed, 405, "method_not_allowed", "MethodNotAllowed"),
    (TooLarge, 413, "payload_too_large", "Validation"),
    (InvalidRequest, 422, "validation_error", "Validation"),
    (InputError, 422, "validation_error", "Validation"),  # sbert's own checks (e.g. an unknown prompt name)
    (Overloaded, 429, "overloaded", "Overloaded"),
    (ShuttingDown, 503, "unavailable", "Unhealthy"),
    (BaseException, 500, "internal_error", "Backend"),
)
# A server fault's message is generic: the details go to the log, never to the client.
INTERNAL_MESSAGE = "internal server error; the server log has the details"


def classify(error: BaseException) -> tuple[int, str, str]:
    """``(status, OpenAI's type, TEI's error_type)`` of ``error``."""
    for kind, status, openai_type, tei_type in ERROR_TABLE:
        if isinstance(error, kind):
            return status, openai_type, tei_type
    raise AssertionError("ERROR_TABLE ends with BaseException")  # pragma: no cover


def error_body(error: BaseException, path: str) -> tuple[int, bytes, dict[str, str]]:
    """``(status, JSON body, extra headers)`` for ``error`` raised while serving ``path``."""
    status, openai_type, tei_type = classify(error)
    message = INTERNAL_MESSAGE if status == 500 else str(error)
    headers = dict(getattr(error, "headers", {}) or {})
    if path.startswith("/v1/"):
        body: Any = {"error": {"message": message, "type": openai_type, "param": None, "code": status}}
    else:
        body = {"error": message, "error_type": tei_type}
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
