"""The one path every request takes: parse the body -> admit (a slot, tokenized off the loop) -> embed.

``endpoint`` turns a declared route into its FastAPI endpoint: it refuses a route that needs an index on a
server without one, parses the body into the route's schema (400 for a body that is not JSON, 422 for wrong
fields), calls the handler with the ``Pipeline`` and the body, and renders what the handler returns.
Handlers embed through ``Pipeline.embed``: the input limit (413), an admission slot (429 when all are taken),
tokenization in a thread pool, the token limit (413 unless truncating) and the model's shared batches.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import orjson
from fastapi import Request, Response
from pydantic import BaseModel, ValidationError

from . import schemas
from .engine import ServedModel
from .errors import InvalidJson, InvalidRequest, NotFound, TooLarge, summarize_validation
from .routes.registry import Reply, Route
from .schemas import RequestBody, TextInputs
from .state import ServerState

Schema = TypeVar("Schema", bound=BaseModel)

TOO_MANY_TO_EMBED = "{n} inputs in one request; the limit is {limit} (--max-input-items): split the request."
TOO_MANY_TO_TOKENIZE = "{n} inputs; the limit is {limit} (--max-input-items)."
NO_INDEX = (
    "this server has no index to search: start it with `sbert serve --index INDEX_DIR` "
    "(build one with `sbert index build CORPUS -o INDEX_DIR`)."
)


@dataclass(frozen=True)
class Embedded:
    """A request's embeddings: ``vectors`` ``(n, d)`` in input order, from ``model``, ``tokens`` in all."""

    model: ServedModel
    vectors: np.ndarray
    tokens: int


class Pipeline:
    """What a handler gets: the server's state, and the admit -> embed steps bound to it."""

    def __init__(self, state: ServerState) -> None:
        self.state = state

    def model(self, name: str | None) -> ServedModel:
        """The served model called ``name`` (404 when none is), or the default for None."""
        return self.state.model(name)

    async def embed(self, body: RequestBody, model: ServedModel | None = None) -> Embedded:
        """The embeddings of ``body.text_inputs()``, by ``model`` or else the model the body names."""
        served = self.state.model(body.model) if model is None else model
        inputs: TextInputs = body.text_inputs()
        prompt = served.prompt(inputs.prompt_name, inputs.task)
        async with self._admitted(served, inputs, prompt, TOO_MANY_TO_EMBED) as encodings:
            _check_lengths(served, inputs, encodings)
            batcher = self.state.batchers[served.name]
            vectors = await batcher.embed(encodings, served.prompt_length(prompt))
        return Embedded(served, vectors, sum(len(e.ids) for e in encodings))

    async def token_embeddings(self, body: RequestBody) -> list[np.ndarray]:
        """Every token's vector of each input of ``body`` (prompt included), computed off the event loop."""
        served = self.state.model(body.model)
        inputs = body.text_inputs()
        if inputs.side != "right":
            raise InvalidRequest(
                "token embeddings are cut on the right only; send truncation_direction 'right' (the default)."
            )
        prompt = served.prompt(inputs.prompt_name, inputs.task)
        async with self._admitted(served, inputs, prompt, TOO_MANY_TO_EMBED) as encodings:
            _check_lengths(served, inputs, encodings)
            loop = asyncio.get_running_loop()
            texts = [prompt + text for text in inputs.texts]
            return await loop.run_in_executor(self.state.token_pool, served.token_embeddings, texts)

    async def tokenize(self, body: RequestBody, model: ServedModel) -> list[Any]:
        """The encodings of ``body.text_inputs()`` (prompt included), cut at the model's token limit."""
        inputs = body.text_inputs()
        prompt = model.prompt(inputs.prompt_name, inputs.task)
        async with self._admitted(model, inputs, prompt, TOO_MANY_TO_TOKENIZE) as encodings:
            return encodings

    @contextlib.asynccontextmanager
    async def _admitted(
        self, served: ServedModel, inputs: TextInputs, prompt: str, too_many: str
    ) -> AsyncIterator[list[Any]]:
        """The encodings of ``inputs`` with ``prompt`` before each, holding an admission slot until the
        block ends."""
        state, texts = self.state, inputs.texts
        if len(texts) > state.max_input_items:
            raise TooLarge(too_many.format(n=len(texts), limit=state.max_input_items))
        if prompt:
            texts = [prompt + text for text in texts]
        with state.admission():
            loop = asyncio.get_running_loop()
            yield await loop.run_in_executor(state.tokenize_pool, served.tokenize, texts, inputs.side)


def _check_lengths(served: ServedModel, inputs: TextInputs, encodings: list[Any]) -> None:
    """413 for an input over the model's token limit, unless the request asked to truncate."""
    if inputs.truncate:
        return
    for i, encoding in enumerate(encodings):
        if encoding.overflowing:
            raise TooLarge(
                f"input {i} is longer than the limit of {served.max_length} tokens of model "
                f"{served.name!r}; shorten it or send truncate=true."
            )


async def parse(request: Request, schema: type[Schema]) -> Schema:
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


def endpoint(route: Route, pipeline: Pipeline) -> Callable[[Request], Awaitable[Response]]:
    """The FastAPI endpoint of ``route``: checks, parses, runs the handler, renders its answer."""
    schema: type[BaseModel] | None = getattr(schemas, route.body) if route.body else None

    async def answer(request: Request) -> Response:
        if route.needs_index and pipeline.state.index is None:
            raise NotFound(NO_INDEX)
        if schema is None:
            return render(await route.handler(pipeline))
        return render(await route.handler(pipeline, await parse(request, schema)))

    return answer


def render(answer: Any) -> Response:
    """A handler's answer as a response: a ``Reply`` as it says, anything else as JSON with status 200."""
    reply = answer if isinstance(answer, Reply) else Reply(answer)
    if reply.media_type is not None:
        return Response(reply.body, status_code=reply.status, media_type=reply.media_type)
    return Response(
        orjson.dumps(reply.body, option=orjson.OPT_SERIALIZE_NUMPY),
        status_code=reply.status,
        media_type="application/json",
    )
