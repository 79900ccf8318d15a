"""The one path every request takes: parse the body -> admit (a slot, tokenized off the loop) -> embed.

``endpoint`` turns a declared route into its FastAPI endpoint: it refuses a route that needs an index on a
server without one, parses the body into the route's schema (400 for a body that is not JSON, 422 for wrong
fields), calls the handler with the ``Pipeline`` and the body, and renders what the handler returns.
Handlers embed through ``Pipeline.embed``: the input limit (413), an admission slot (429 when all are taken),
tokenization in a thread pool by the reader of the request's task (a Router's route), the token limit (413
unless truncating) and the model's shared batches. With ``chunk_tokens`` each input is cut into windows (on
the same reader, counted against the input limit), the windows go through the same batches as any input, and
each input gets the mean of its windows' vectors weighted by their tokens, as ``encode`` computes it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import orjson
from fastapi import Request, Response
from pydantic import BaseModel, ValidationError

from .._tokens.chunking import chunk_means, chunks_of, window_texts
from . import schemas
from .engine import ServedModel
from .errors import InvalidJson, InvalidRequest, NotFound, TooLarge, summarize_validation
from .reranking import ServedReranker
from .routes.registry import Reply, Route
from .schemas import ASK_TO_TRUNCATE, PairInputs, PredictInputs, RequestBody, TextInputs, TokenizeRequest
from .state import NO_RERANKER, ServerState

Schema = TypeVar("Schema", bound=BaseModel)
T = TypeVar("T")

TOO_MANY_TO_EMBED = "{n} inputs in one request; the limit is {limit} (--max-input-items): split the request."
TOO_MANY_TO_TOKENIZE = "{n} inputs; the limit is {limit} (--max-input-items)."
# /tokenize does not truncate: an input may hold this many characters per token of the model's limit (TEI's)
CHARACTERS_PER_TOKEN = 250
TOO_MANY_CHARACTERS = (
    "input {i} has {n} characters; /tokenize takes at most {limit} ({per} per token of the model's limit)."
)
OVERFLOW_FIXES = {
    "model": "shorten it, {truncate}, or send chunk_tokens to embed it as the mean of its windows",
    "reranker": "shorten the document, or {truncate}",
    "classifier": "shorten it, or {truncate}",
    "sparse model": "shorten it, or {truncate}",
}
TOO_MANY_TO_RERANK = (
    "{n} documents in one request; the limit is {limit} (--max-input-items): split the request."
)
TOO_MANY_WINDOWS = (
    "the inputs make {n} windows in one request; the limit is {limit} (--max-input-items): send fewer or "
    "shorter texts per request, or a larger chunk_tokens."
)
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


@dataclass(frozen=True)
class Scored:
    """A rerank request's logits ``(n, 1)`` in document order, from ``reranker``, ``tokens`` in all."""

    reranker: ServedReranker
    logits: np.ndarray
    tokens: int


class Pipeline:
    """What a handler gets: the server's state, and the admit -> embed steps bound to it."""

    def __init__(self, state: ServerState) -> None:
        self.state = state

    def model(self, name: str | None) -> ServedModel:
        """The served model called ``name`` (404 when none is), or the default for None."""
        return self.state.model(name)

    def reranker(self, name: str | None) -> ServedReranker:
        """The reranker called ``name`` (404 naming those served), or the first for None."""
        return self.state.reranker(name)

    async def embed(self, body: RequestBody, model: ServedModel | None = None) -> Embedded:
        """The embeddings of ``body.text_inputs()``, by ``model`` or else the model the body names; with
        ``chunk_tokens`` (the request's or the server's), each input is the mean of its windows'."""
        served = self.state.model(body.model) if model is None else model
        inputs: TextInputs = body.text_inputs()
        prompt, task = served.read_as(inputs.prompt_name, inputs.task)
        ids = inputs.token_ids  # token ids are read as TEI reads them: decoded, re-tokenized without specials
        chunking = None if ids is not None else served.chunking(inputs.chunk_tokens, inputs.chunk_overlap)
        if ids is not None and (inputs.chunk_tokens is not None or inputs.chunk_overlap is not None):
            raise InvalidRequest("token ids are not cut into windows; leave chunk_tokens out or send text.")
        self._check_count(inputs.texts if ids is None else ids, TOO_MANY_TO_EMBED)
        with self.state.admission():
            texts = inputs.texts if ids is None else await self._in_pool(served.texts_of_ids, ids, task)
            if chunking is None:
                encodings = await self._tokenized(served, texts, prompt, inputs.side, task, ids is None)
                self._check_lengths(served, inputs, encodings, task)
            else:  # every window is an input of the batches, as encode embeds them
                plans = await self._in_pool(served.windows, texts, chunking, prompt, task)
                windows = window_texts(texts, plans)
                if len(windows) > self.state.max_input_items:
                    raise TooLarge(TOO_MANY_WINDOWS.format(n=len(windows), limit=self.state.max_input_items))
                encodings = await self._tokenized(served, windows, prompt, inputs.side, task)
            batcher = self.state.batchers[served.name]
            vectors = await batcher.embed(encodings, served.prompt_length(prompt, task), task)
        if chunking is not None:
            vectors = chunk_means(chunks_of(texts, plans, vectors), served.dimension)
        return Embedded(served, vectors, sum(len(e.ids) for e in encodings))

    async def token_embeddings(self, body: RequestBody) -> list[np.ndarray]:
        """Every token's vector of each input of ``body`` (prompt included), computed off the event loop."""
        served = self.state.model(body.model)
        inputs = body.text_inputs()
        if inputs.side != "right":
            raise InvalidRequest(
                "token embeddings are cut on the right only; send truncation_direction 'right' (the default)."
            )
        if inputs.chunk_tokens is not None or inputs.chunk_overlap is not None:
            raise InvalidRequest("token embeddings are not cut into windows; leave chunk_tokens out.")
        prompt = served.prompt(inputs.prompt_name, inputs.task)
        self._check_count(inputs.texts, TOO_MANY_TO_EMBED)
        with self.state.admission():
            encodings = await self._tokenized(served, inputs.texts, prompt, inputs.side, None)
            self._check_lengths(served, inputs, encodings, None)
            texts = [prompt + text for text in inputs.texts]
            return await self._in_pool(served.token_embeddings, texts, pool=self.state.token_pool)

    async def tokenize(self, body: TokenizeRequest, model: ServedModel) -> list[tuple[str, Any]]:
        """Each of ``body.text_inputs()`` as tokenized (its prompt before it) with its encoding: every token,
        as TEI's /tokenize gives them (not cut at the model's limit, which /embed applies), special tokens
        added where ``body.add_special_tokens``."""
        inputs = body.text_inputs()
        prompt, task = model.read_as(inputs.prompt_name, inputs.task)
        self._check_count(inputs.texts, TOO_MANY_TO_TOKENIZE)
        limit = model.reader(task).max_length * CHARACTERS_PER_TOKEN
        for i, text in enumerate(inputs.texts):  # untruncated: bounded as TEI bounds it, by characters
            if len(text) > limit:
                raise TooLarge(
                    TOO_MANY_CHARACTERS.format(i=i, n=len(text), limit=limit, per=CHARACTERS_PER_TOKEN)
                )
        texts = [prompt + text for text in inputs.texts] if prompt else inputs.texts
        with self.state.admission():
            special = body.add_special_tokens
            encodings = await self._in_pool(model.tokenize, texts, inputs.side, task, special, False)
        return list(zip(texts, encodings))

    async def decode(
        self, served: ServedModel | ServedReranker, rows: list[list[int]], skip_special_tokens: bool
    ) -> list[str]:
        """The text of each row of token ids by ``served``'s tokenizer, off the event loop, under the input
        limit (413) and an admission slot, as /tokenize."""
        self._check_count(rows, TOO_MANY_TO_TOKENIZE)
        with self.state.admission():
            return await self._in_pool(served.decode, rows, skip_special_tokens)

    async def rerank(self, inputs: PairInputs, reranker: ServedReranker) -> Scored:
        """The logits of the pairs ``(inputs.query, document)`` by ``reranker``, in the shared batches of its
        batcher: the input limit (413), an admission slot (429), tokenization off the loop, the token limit
        (413 unless truncating). No documents: no work, an empty answer."""
        self._check_count(inputs.documents, TOO_MANY_TO_RERANK)
        with self.state.admission():
            encodings = await self._in_pool(reranker.tokenize, inputs.query, inputs.documents, inputs.side)
            if not self.truncates(inputs.truncate):
                advice = truncate_advice(inputs.truncate)
                _check_overflow(encodings, "the pair of the query and document {i}", reranker, advice=advice)
            logits = await self.state.batchers[reranker.name].embed(encodings)
        return Scored(reranker, logits, sum(len(e.ids) for e in encodings))

    async def predict(self, inputs: PredictInputs, classifier: ServedReranker) -> Scored:
        """The logits ``(n, labels)`` of the texts and pairs of ``inputs`` by ``classifier``, in the shared
        batches of its batcher, under the limits of :meth:`rerank`."""
        self._check_count(inputs.sequences, TOO_MANY_TO_EMBED)
        with self.state.admission():
            encodings = await self._in_pool(classifier.tokenize_sequences, inputs.sequences, inputs.side)
            if not self.truncates(inputs.truncate):
                advice = truncate_advice(inputs.truncate)
                kind = "classifier" if classifier in self.state.classifiers.values() else "reranker"
                _check_overflow(encodings, "input {i}", classifier, kind=kind, advice=advice)
            logits = await self.state.batchers[classifier.name].embed(encodings)
        return Scored(classifier, logits, sum(len(e.ids) for e in encodings))

    def truncates(self, truncate: bool | None) -> bool:
        """Whether a request cuts inputs over the token limit: as it says, else as --auto-truncate says."""
        return self.state.auto_truncate if truncate is None else truncate

    def _check_lengths(
        self, served: ServedModel, inputs: TextInputs, encodings: list[Any], task: str | None
    ) -> None:
        """413 for an input over the model's token limit, unless the request (or the server) truncates."""
        if not self.truncates(inputs.truncate):
            kind = "sparse model" if served.sparse else None
            advice = truncate_advice(inputs.truncate, inputs.ask_to_truncate)
            _check_overflow(encodings, "input {i}", served, served.reader(task).max_length, kind, advice)

    def _check_count(self, texts: Sequence[Any], too_many: str) -> None:
        limit = self.state.max_input_items
        if len(texts) > limit:
            raise TooLarge(too_many.format(n=len(texts), limit=limit))

    async def _tokenized(
        self,
        served: ServedModel,
        texts: list[str],
        prompt: str,
        side: str,
        task: str | None,
        special_tokens: bool = True,
    ) -> list[Any]:
        """The encodings of ``texts`` with ``prompt`` before each, by ``task``'s reader, off the event loop
        (the caller holds an admission slot); ``special_tokens=False``: none added."""
        if prompt:
            texts = [prompt + text for text in texts]
        return await self._in_pool(served.tokenize, texts, side, task, special_tokens)

    async def _in_pool(self, function: Callable[..., T], *args: Any, pool: Any = None) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(pool or self.state.tokenize_pool, function, *args)


def truncate_advice(truncate: bool | None, ask: str = ASK_TO_TRUNCATE) -> str:
    """How a request over the token limit asks to be cut: ``ask`` (its route's own field), and the server's
    --auto-truncate only where the request said nothing (an explicit refusal overrides the server's flag)."""
    return f"{ask} (or start the server with --auto-truncate)" if truncate is None else ask


def _check_overflow(
    encodings: list[Any],
    what: str,
    served: ServedModel | ServedReranker,
    limit: int | None = None,
    kind: str | None = None,
    advice: str = ASK_TO_TRUNCATE,
) -> None:
    """413 naming the first encoding cut at the token limit of ``served`` (``what``: how to name it;
    ``kind``: what ``served`` is, by default a model or a reranker; ``advice``: how to ask for truncation)."""
    kind = kind or ("model" if isinstance(served, ServedModel) else "reranker")
    for i, encoding in enumerate(encodings):
        if encoding.overflowing:
            raise TooLarge(
                f"{what.format(i=i)} is longer than the limit of {limit or served.max_length} tokens of "
                f"{kind} {served.name!r}; {OVERFLOW_FIXES[kind].format(truncate=advice)}."
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
        if route.needs_reranker and not pipeline.state.rerankers:
            raise NotFound(NO_RERANKER)
        parameters = request.path_params  # a templated path's parts, by name
        if schema is None:
            return render(await route.handler(pipeline, **parameters))
        return render(await route.handler(pipeline, await parse(request, schema), **parameters))

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
