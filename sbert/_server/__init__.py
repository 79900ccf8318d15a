"""``sbert serve``: an embedding server speaking the OpenAI and text-embeddings-inference protocols.

    from sbert import CrossEncoder, SentenceTransformer, create_app
    app = create_app({"minilm": SentenceTransformer()})    # any ASGI server runs it
    app = create_app(SentenceTransformer(), index="my-index")  # and POST /search over a VectorIndex
    app = create_app(SentenceTransformer(), rerankers={"rr": CrossEncoder("my-reranker")})  # and /rerank

The layout, in the order data flows: ``schemas`` (request bodies), ``errors`` (the error table),
``metrics`` (Prometheus), ``names`` (what each model answers to), ``engine`` (models and the dynamic
batcher), ``reranking`` (cross-encoders in the same batchers), ``index`` (the index behind /search),
``state`` (what the routes share), ``gate`` (drain, API key, body size), ``routes`` (one module per
protocol: ``openai``, ``tei``, ``rerank_api``, ``native``), ``pipeline`` (parse -> admit -> embed or
score, shared by every route), ``app`` (the FastAPI app), ``run`` (uvicorn with a graceful drain on
SIGTERM). FastAPI and uvicorn are imported only here, never by ``import sbert``; without them the
functions below raise ``BackendUnavailableError`` naming the extra.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable, Mapping
from typing import Any

from .._checks import check_positive_int
from .._errors import InputError, missing_extra


def require_server_extra() -> None:
    """Raise ``BackendUnavailableError`` (it names the pip command) unless the server extra is installed."""
    for module, package in (("fastapi", "fastapi"), ("uvicorn", "uvicorn"), ("orjson", "orjson")):
        try:
            __import__(module)
        except ImportError:
            raise missing_extra(package, "server") from None


def check_port_free(host: str, port: int) -> None:
    """Raise :class:`InputError` unless ``host:port`` can be bound now, as uvicorn binds it (every address
    ``host`` resolves to, ``SO_REUSEADDR`` set): ``sbert serve`` asks before loading its models, so a port in
    use fails at once, not in uvicorn after the loading. Port 0 (any free port) is not checked."""
    import socket

    if port == 0:
        return
    try:
        for family, kind, proto, _, address in socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        ):
            with socket.socket(family, kind, proto) as sock:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                if family == socket.AF_INET6:
                    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                sock.bind(address)
    except OSError as e:
        reason = "it is already in use" if e.errno == errno.EADDRINUSE else (e.strerror or str(e))
        raise InputError(
            f"cannot listen on port {port} of {host}: {reason}; pass another --port (or stop the program "
            "using it)."
        ) from None


def _named_models(models: Any) -> dict[str, Any]:
    if isinstance(models, Mapping):
        named = dict(models)
    elif isinstance(models, (list, tuple)):
        named = {_model_name(m): m for m in models}
        if len(named) != len(models):
            raise InputError("two models have the same name; pass a dict {name: model} to name them.")
    else:
        named = {_model_name(models): models}
    if not named:
        raise InputError("serve at least one model.")
    for name in named:
        if not isinstance(name, str) or not name:
            raise InputError(f"model names must be non-empty strings, got {name!r}.")
    return named


def _model_name(model: Any) -> str:
    return str(getattr(model, "name_or_path", None) or "model")


def create_app(
    models: Any,
    *,
    api_key: str | None = None,
    max_batch_tokens: int | None = None,
    workers: int | None = None,
    max_concurrent_requests: int = 512,
    max_input_items: int = 2048,
    max_body_bytes: int = 2_000_000,
    index: Any = None,
    default_prompt_name: str | None = None,
    chunk_tokens: int | None = None,
    chunk_overlap: int = 0,
    rerankers: Any = None,
    classifiers: Any = None,
    sparse_models: Any = None,
    auto_truncate: bool = False,
) -> Any:
    """The FastAPI app serving ``models``: a model, a list of models, or a dict ``{name: model}``.

    Models are ``SentenceTransformer`` or ``FakeEncoder`` instances; the first is the default for
    requests that name none. A model loaded from a folder is named after the folder (``./minilm-onnx``:
    ``minilm-onnx``), a hub model by its name and also by its last part; dict keys other than the model's
    own path are kept as they are (see ``names``). Limits: ``max_batch_tokens`` padded tokens per batch
    (default: the model's ``encode`` default), ``workers`` batches computed at once per model (each with
    its share of the CPU threads; default 2 for torch on a multi-core CPU, else 1),
    ``max_concurrent_requests`` requests admitted at once (more get 429),
    ``max_input_items`` texts per request and ``max_body_bytes`` per body (more get 413).
    ``api_key`` requires ``Authorization: Bearer KEY`` on every route but ``/`` and ``/health``.
    ``index`` (a ``VectorIndex`` or its folder) is what ``POST /search`` searches; it must have been built
    with one of ``models`` (``ModelMismatchError`` otherwise), whose batcher then embeds the queries.
    ``default_prompt_name`` (a prompt every model has) is used by requests that choose no prompt; without
    it, each model's own ``default_prompt_name`` is, as in ``encode``.
    ``chunk_tokens``, ``chunk_overlap``: the windows of requests that choose none, as ``encode(...,
    chunk_tokens=N, chunk_overlap=M)`` cuts them; every model must fit them (``InputError`` otherwise).
    ``rerankers`` (given and named as ``models``, apart from them): one-label ``CrossEncoder``s for
    ``/rerank``, ``/v1/rerank`` and reranked ``/search``, under the same limits; the first is the default.
    ``classifiers`` (given and named likewise): ``CrossEncoder``s with any number of labels for
    ``/predict`` (which the rerankers answer too when there is none).
    ``sparse_models`` (given and named likewise): SPLADE ``SparseEncoder``s (``backend="onnx"`` runs them
    without torch) for ``/embed_sparse``; with them ``models`` may be None (a server of sparse models only,
    whose ``/info`` describes the first as text-embeddings-inference describes a SPLADE model).
    ``auto_truncate`` (text-embeddings-inference's ``--auto-truncate``): TEI requests that send no
    ``truncate`` cut inputs over the token limit instead of getting 413.
    """
    require_server_extra()
    from .app import build_app
    from .index import bind_index
    from .state import ServerState

    check_positive_int("max_concurrent_requests", max_concurrent_requests)
    check_positive_int("max_input_items", max_input_items)
    check_positive_int("max_body_bytes", max_body_bytes)
    check_positive_int("max_batch_tokens", max_batch_tokens, optional=True)  # None: the model's default
    check_positive_int("workers", workers, optional=True)
    per_model: dict[str, Any] = {"max_batch_tokens": max_batch_tokens, "workers": workers}
    per_model.update(default_prompt_name=default_prompt_name, chunk_tokens=chunk_tokens)
    only_sparse = _is_empty(models) and not _is_empty(sparse_models)
    served, aliases = (
        ({}, {}) if only_sparse else _served_models(models, chunk_overlap=chunk_overlap, **per_model)
    )
    ranking = _served_rerankers(rerankers, served, max_batch_tokens, workers)
    classifying = _served_rerankers(
        classifiers, {**served, **ranking[0]}, max_batch_tokens, workers, one_label=False
    )
    taken = {**served, **ranking[0], **classifying[0]}
    sparse = _served_sparse(sparse_models, taken, max_batch_tokens, workers, default_prompt_name)
    state = ServerState(
        served,
        api_key=api_key,
        max_concurrent_requests=max_concurrent_requests,
        max_input_items=max_input_items,
        max_body_bytes=max_body_bytes,
        aliases=aliases,
        index=bind_index(_open_index(index), served) if index is not None else None,
        rerankers=ranking,
        classifiers=classifying,
        sparse_models=sparse,
        auto_truncate=bool(auto_truncate),
    )
    return build_app(state)


def _served_models(models: Any, **options: Any) -> tuple[dict[str, Any], dict[str, str]]:
    """``({name: ServedModel}, {alias: name})`` of the embedding models (``options``: ServedModel's)."""
    from .engine import ServedModel
    from .names import served_names

    named, aliases = served_names(_named_models(models))
    return {name: ServedModel(name, model, **options) for name, model in named.items()}, aliases


def _served_rerankers(
    rerankers: Any,
    models: Mapping[str, Any],
    max_batch_tokens: int | None,
    workers: int | None,
    one_label: bool = True,
) -> tuple[dict[str, Any], dict[str, str]]:
    """``({name: ServedReranker}, {alias: name})`` of rerankers (``one_label``) or classifiers, named apart
    from ``models`` (the names taken before)."""
    if rerankers is None or (isinstance(rerankers, (Mapping, list, tuple)) and not rerankers):
        return {}, {}
    from .names import served_names
    from .reranking import ServedReranker

    named, aliases = served_names(_named_models(rerankers))
    kind = "reranker" if one_label else "classifier"
    for name in named:
        if name in models:
            raise InputError(
                f"a model and a {kind} are both named {name!r}; name them apart with --{kind} NAME=MODEL "
                f"(or create_app(..., {kind}s={{NAME: model}}))."
            )
    served = {
        name: ServedReranker(
            name, model, max_batch_tokens=max_batch_tokens, workers=workers, one_label=one_label
        )
        for name, model in named.items()
    }
    return served, {alias: name for alias, name in aliases.items() if alias not in models}


def _is_empty(models: Any) -> bool:
    return models is None or (isinstance(models, (Mapping, list, tuple)) and not models)


def _served_sparse(
    models: Any,
    taken: Mapping[str, Any],
    max_batch_tokens: int | None,
    workers: int | None,
    default_prompt_name: str | None,
) -> tuple[dict[str, Any], dict[str, str]]:
    """``({name: ServedSparse}, {alias: name})`` of the sparse models, named apart from ``taken`` (the
    models, rerankers and classifiers)."""
    if _is_empty(models):
        return {}, {}
    from .names import served_names
    from .sparse import ServedSparse

    named, aliases = served_names(_named_models(models))
    for name in named:
        if name in taken:
            raise InputError(
                f"a sparse model and another model are both named {name!r}; name them apart with --sparse "
                "NAME=MODEL (or create_app(..., sparse_models={NAME: model}))."
            )
    options = {"max_batch_tokens": max_batch_tokens, "workers": workers}
    served = {
        name: ServedSparse(name, model, default_prompt_name=default_prompt_name, **options)
        for name, model in named.items()
    }
    return served, {alias: name for alias, name in aliases.items() if alias not in taken}


def _open_index(index: Any) -> Any:
    from .._search.index import VectorIndex

    if isinstance(index, VectorIndex):
        return index
    if isinstance(index, (str, os.PathLike)):
        return VectorIndex.open(index)
    raise InputError(f"index must be a VectorIndex or the path of its folder, got {type(index).__name__}.")


def serve(
    models: Any,
    *,
    host: str = "127.0.0.1",
    port: int = 8080,
    graceful_timeout: float = 30.0,
    log_level: str = "info",
    announce: Callable[[], None] | None = None,
    **options: Any,
) -> None:
    """Run :func:`create_app` under uvicorn until SIGTERM or Ctrl-C, then drain gracefully; ``announce`` is
    called once the app is built (its checks passed), before the server listens.

    On the first SIGTERM/SIGINT the server answers new requests with 503 (``/health`` too, so load
    balancers stop sending), finishes the requests in flight (at most ``graceful_timeout`` seconds)
    and exits; a second signal exits at once.
    """
    app = create_app(models, **options)
    if announce is not None:
        announce()
    from .run import run_until_drained

    run_until_drained(app, host=host, port=port, graceful_timeout=graceful_timeout, log_level=log_level)


__all__ = ["check_port_free", "create_app", "require_server_extra", "serve"]
