"""What the routes of one app share: the served models and rerankers, their batchers, the index, limits and
counters."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from .engine import Batcher, ServedModel
from .errors import NotFound, Overloaded
from .index import ServedIndex
from .metrics import ServerMetrics
from .names import describe_names
from .reranking import ServedReranker
from .sparse import ServedSparse

RETRY_AFTER_SECONDS = 1
NO_RERANKER = (
    "this server has no reranker: start it with `sbert serve --reranker NAME=MODEL` (a cross-encoder), "
    "or create_app(..., rerankers={NAME: CrossEncoder(...)})."
)
NO_CLASSIFIER = (
    "this server has no cross-encoder to classify with: start it with `sbert serve --classifier NAME=MODEL` "
    "(or --reranker), or create_app(..., classifiers={NAME: CrossEncoder(...)})."
)
NO_SPARSE_MODEL = (
    "this server has no sparse model: start it with `sbert serve --sparse NAME=MODEL` (a SPLADE "
    "SparseEncoder), or create_app(..., sparse_models={NAME: SparseEncoder(..., backend='onnx')})."
)
NO_DENSE_MODEL = (
    "this server serves sparse models only (POST /embed_sparse); start it with --model MODEL for dense "
    "embeddings."
)
TOKENIZATION_WORKERS = 2  # threads that tokenize requests off the event loop (TEI's /info reports it)


class ServerState:
    """The models (the first is the default), their batchers and thread pools, the limits and counters."""

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
        rerankers: tuple[dict[str, ServedReranker], dict[str, str]] = ({}, {}),
        classifiers: tuple[dict[str, ServedReranker], dict[str, str]] = ({}, {}),
        sparse_models: tuple[dict[str, ServedSparse], dict[str, str]] = ({}, {}),
        auto_truncate: bool = False,
    ) -> None:
        self.models = models
        # The rerankers (the first answers rerank requests that name none) and their aliases.
        self.rerankers, self.reranker_aliases = dict(rerankers[0]), dict(rerankers[1])
        # The classifiers of POST /predict (cross-encoders with any number of labels) and their aliases.
        self.classifiers, self.classifier_aliases = dict(classifiers[0]), dict(classifiers[1])
        # The sparse (SPLADE) models of POST /embed_sparse and their aliases.
        self.sparse_models, self.sparse_aliases = dict(sparse_models[0]), dict(sparse_models[1])
        # TEI's --auto-truncate: what TEI requests that send no "truncate" do with inputs over the limit.
        self.auto_truncate = auto_truncate
        self.index = index
        self.default = next(iter(models), None)  # None: a server of sparse models only
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
        # One batcher per model, reranker and classifier (their names are apart: create_app checks).
        computed: dict[str, ServedModel | ServedReranker] = {
            **models,
            **self.rerankers,
            **self.classifiers,
            **self.sparse_models,
        }
        self.batchers = {name: Batcher(served, self.metrics) for name, served in computed.items()}
        self.tokenization_workers = TOKENIZATION_WORKERS
        self.tokenize_pool = ThreadPoolExecutor(TOKENIZATION_WORKERS, thread_name_prefix="sbert-tokenize")
        # /embed_all runs the encoder outside the batchers: one request at a time, beside them.
        self.token_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sbert-tokens")
        # faiss parallelizes one search itself; two threads let a long search not hold up the next.
        self.search_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="sbert-search")

    def model(self, name: str | None) -> ServedModel:
        if self.default is None:
            raise NotFound(NO_DENSE_MODEL)
        if name is None:
            return self.models[self.default]
        found = self.models.get(self.aliases.get(name, name))
        if found is None:
            served = describe_names(self.models, self.aliases)
            raise NotFound(f"model {name!r} is not served here; this server has: {served}.")
        return found

    def sparse_model(self, name: str | None) -> ServedSparse:
        """The sparse model called ``name`` (None: the first); 404 naming the sparse models served."""
        return _pick("sparse model", self.sparse_models, self.sparse_aliases, name, NO_SPARSE_MODEL)

    def reranker(self, name: str | None) -> ServedReranker:
        """The reranker called ``name`` (None: the first); 404 naming the rerankers served."""
        return _pick("reranker", self.rerankers, self.reranker_aliases, name, NO_RERANKER)

    def classifier(self, name: str | None) -> ServedReranker:
        """The cross-encoder of ``POST /predict`` called ``name``: a classifier, else a reranker (None: the
        first classifier, else the first reranker); 404 naming those served."""
        found: ServedReranker | None
        if name is None:
            found = next(iter({**self.classifiers, **self.rerankers}.values()), None)
        else:
            found = self.classifiers.get(self.classifier_aliases.get(name, name))
            found = found or self.rerankers.get(self.reranker_aliases.get(name, name))
        if found is not None:
            return found
        if not self.classifiers and not self.rerankers:
            raise NotFound(NO_CLASSIFIER)
        served = ", ".join(map(repr, [*self.classifiers, *self.rerankers]))
        raise NotFound(f"classifier {name!r} is not served here; this server has: {served}.")

    @contextlib.contextmanager
    def admission(self) -> Iterator[None]:
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

    def start(self) -> None:
        for batcher in self.batchers.values():
            batcher.served.warm_up()
            batcher.start()

    def close(self) -> None:
        for batcher in self.batchers.values():
            batcher.close()
        self.tokenize_pool.shutdown(wait=False, cancel_futures=True)
        self.token_pool.shutdown(wait=False, cancel_futures=True)
        self.search_pool.shutdown(wait=False, cancel_futures=True)


def _pick(kind: str, served: dict[str, Any], aliases: dict[str, str], name: str | None, none: str) -> Any:
    """The ``kind`` called ``name`` (or an alias of it; None: the first) in ``served``; 404 with ``none``
    where nothing of that kind is served, else naming what is."""
    if not served:
        raise NotFound(none)
    if name is None:
        return next(iter(served.values()))
    found = served.get(aliases.get(name, name))
    if found is None:
        names = describe_names(served, aliases)
        raise NotFound(f"{kind} {name!r} is not served here; this server has the {kind}s: {names}.")
    return found
