"""``sbert serve``: the command-line arguments, and model specs (``[NAME=]MODEL``) turned into models.

Argument parsing only; the server itself is :func:`sbert._server.serve`. Importing this module is light:
FastAPI, uvicorn and torch load when the command runs.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from .._errors import InputError
from .common import add_model_arguments, help_text, load_model, positive_int
from .encode import add_chunk_arguments, chunk_options

API_KEY_ENV = "SBERT_API_KEY"
AUTO_TRUNCATE_ENV = "SBERT_AUTO_TRUNCATE"  # text-embeddings-inference's AUTO_TRUNCATE, under sbert's prefix
LOOPBACK_NAMES = ("localhost",)
_NAME = re.compile(r"[A-Za-z0-9_.\-]+")  # a model's name in NAME=MODEL


def routes_help() -> str:
    """The route list of the help, made from the routes themselves: one line per protocol."""
    from .._server.routes import ROUTES

    by_tag: dict[str, list[str]] = {}
    for route in ROUTES:
        needs = "with --index" if route.needs_index else "with --reranker" if route.needs_reranker else ""
        notes = [note for note in (route.note, needs) if note]
        by_tag.setdefault(route.tag, []).append(
            f"{route.method} {route.path}" + "".join(f" ({note})" for note in notes)
        )
    width = max(map(len, by_tag)) + 1
    lines = [f"  {tag + ':':<{width}} {', '.join(routes)}" for tag, routes in by_tag.items()]
    return "\n".join(["Routes:", *lines, "  and GET /docs, the OpenAPI page of them all."])


def description() -> str:
    """The help text (made when ``sbert serve`` is parsed: listing the routes imports the server's)."""
    return f"""\
Serve embedding models over HTTP, speaking the OpenAI and text-embeddings-inference (TEI) protocols.

{routes_help()}

Requests from all clients are merged into token-budget batches; more than --max-concurrent-requests
at once get 429 with Retry-After. On SIGTERM (or Ctrl-C) new requests get 503 while those in flight
finish; a second signal stops at once.

MODEL is a model folder or hub name, optionally named: NAME=MODEL; repeat --model to serve several
(the first answers requests that name no model). 'fake' or 'fake:DIM' is a fake model (vectors from
token ids, no weights) for trying clients; 'fake:16?delay=0.1' adds 0.1 s per batch.

--chunk-tokens N [--chunk-overlap M] cuts the texts of requests that send no chunk_tokens into windows of
N tokens and embeds each text as the mean of its windows, as 'sbert encode --chunk-tokens' does.

--classifier [NAME=]MODEL (a cross-encoder with any labels; repeatable) adds POST /predict (TEI), as
text-embeddings-inference serves a sequence-classification model; without one, the rerankers answer it.

--sparse [NAME=]MODEL (a SPLADE SparseEncoder; repeatable) adds POST /embed_sparse (TEI), run on ONNX
Runtime without torch unless --backend torch; with --sparse and no --model only sparse models are served.

--auto-truncate cuts inputs over the token limit in TEI requests that send no "truncate" (else 413), as
text-embeddings-inference's --auto-truncate.

--index INDEX_DIR (made by 'sbert index build') adds POST /search and a search box on the playground.
The index must have been built with one of the served models (checked at start-up); that model embeds
the queries, in the same batches as every other request.

--reranker [NAME=]MODEL (a one-label cross-encoder; repeatable) adds POST /rerank (TEI), POST /v1/rerank
(Cohere, Jina), "rerank": true on POST /search and a rerank box on the playground; its query-document
pairs are batched like texts, under the same limits."""


EXAMPLES = (
    "  sbert serve                                         "
    "# the embedded all-MiniLM-L6-v2 on 127.0.0.1:8080\n"
    "  sbert serve --model minilm=all-MiniLM-L6-v2 --model ./my-model --port 8000\n"
    "  SBERT_API_KEY=secret sbert serve --host 0.0.0.0 --fast\n"
    "  sbert index build docs.txt -o my-index && sbert serve --index my-index\n"
    "  sbert serve --reranker rr=./my-reranker --index my-index   # /rerank, /v1/rerank, reranked /search\n"
    "  curl localhost:8080/v1/embeddings -H 'content-type: application/json' "
    """-d '{"input": ["hello"], "model": "all-MiniLM-L6-v2"}'\n"""
)


def batch_tokens_help() -> str:
    """The help of --max-batch-tokens, from the budgets the server picks (``sbert._server.engine``)."""
    from .._server.engine import CPU_BATCH_TOKENS
    from .._tokens.batching import BATCH_LIMITS

    def by_precision(tokens: dict[str, int]) -> str:
        groups: dict[int, list[str]] = {}
        for precision, number in tokens.items():
            groups.setdefault(number, []).append(precision)
        return ", ".join(f"{number} in {'/'.join(names)}" for number, names in groups.items())

    gpu = {precision: limits[1] for precision, limits in BATCH_LIMITS.items()}
    return (
        f"padded tokens per batch (default: on a CPU {by_precision(CPU_BATCH_TOKENS)}; "
        f"elsewhere as encode, {by_precision(gpu)})"
    )


# The positive-integer limits: (flag, default, help or a function making it when the parser is built);
# each flag is a keyword of ``sbert.serve``.
LIMITS: tuple[tuple[str, int | None, str | Callable[[], str]], ...] = (
    ("--max-batch-tokens", None, batch_tokens_help),
    (
        "--workers",
        None,
        "batches computed at once per model, each with 1/N of the CPU threads (default: 2 for torch on a "
        "multi-core CPU, else 1)",
    ),
    (
        "--max-concurrent-requests",
        512,
        "requests admitted at once; more get 429 with Retry-After (default: 512)",
    ),
    ("--max-input-items", 2048, "texts per request (OpenAI's limit); more get 413 (default: 2048)"),
    ("--max-body-bytes", 2_000_000, "request body size; larger get 413 (default: 2000000)"),
)
# What ``run`` hands to ``sbert.serve`` as it was parsed (the API key and the index are looked at first).
LIMIT_NAMES = tuple(flag.removeprefix("--").replace("-", "_") for flag, _, _ in LIMITS)
SERVE_OPTIONS = (
    "host",
    "port",
    *LIMIT_NAMES,
    "graceful_timeout",
    "log_level",
    "default_prompt_name",
    "auto_truncate",
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_model_arguments(parser, many=True)
    group = parser.add_argument_group("server")
    group.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1, this machine only)"
    )
    group.add_argument("--port", type=_port, default=8080, help="port to bind (default: 8080)")
    group.add_argument(
        "--api-key",
        metavar="KEY",
        default=None,
        help=f"require 'Authorization: Bearer KEY' (default: ${API_KEY_ENV} if set, else no key)",
    )
    group.add_argument(
        "--index",
        metavar="INDEX_DIR",
        action="append",
        default=None,
        help="serve POST /search over this index (from 'sbert index build'; built with a served model)",
    )
    group.add_argument(
        "--reranker",
        metavar="[NAME=]MODEL",
        action="append",
        default=None,
        help="serve this cross-encoder on POST /rerank and /v1/rerank (repeat for several; the first "
        "answers requests that name none); --device, --backend, --precision apply to it too",
    )
    group.add_argument(
        "--classifier",
        metavar="[NAME=]MODEL",
        action="append",
        default=None,
        help="serve this cross-encoder (any number of labels) on POST /predict (repeat for several; the "
        "first answers requests that name none, else the first --reranker does)",
    )
    group.add_argument(
        "--sparse",
        metavar="[NAME=]MODEL",
        action="append",
        default=None,
        help="serve this SPLADE SparseEncoder on POST /embed_sparse (repeat for several; the first answers "
        "requests that name none); ONNX Runtime unless --backend torch; without --model, only these",
    )
    group.add_argument(
        "--auto-truncate",
        action="store_true",
        default=_env_flag(AUTO_TRUNCATE_ENV),
        help="TEI requests (/embed, /rerank, /predict, ...) that send no 'truncate' cut inputs over the "
        f"token limit instead of getting 413, as text-embeddings-inference's --auto-truncate (default: "
        f"${AUTO_TRUNCATE_ENV} if true, else off)",
    )
    group.add_argument(
        "--default-prompt-name",
        metavar="NAME",
        default=None,
        help="the prompt (one every served model has) of requests that choose none; default: each model's "
        "own default_prompt_name, if any",
    )
    for flag, default, text in LIMITS:
        group.add_argument(flag, type=positive_int, default=default, metavar="N", help=help_text(text))
    group.add_argument(
        "--graceful-timeout",
        type=float,
        default=30.0,
        metavar="S",
        help="on SIGTERM, wait at most S seconds for requests in flight (default: 30)",
    )
    group.add_argument(
        "--log-level",
        choices=("critical", "error", "warning", "info", "debug"),
        default="info",
        help="server log level (default: info)",
    )
    add_chunk_arguments(parser)  # the windows of requests that send no chunk_tokens


def run(args: argparse.Namespace) -> int:
    from .._server import check_port_free, require_server_extra, serve
    from .._server.engine import check_default_prompt_name
    from .._server.names import served_names

    require_server_extra()  # before loading models, which takes seconds
    check_port_free(args.host, args.port)  # so is a port in use: uvicorn would fail only after the loading
    api_key = args.api_key or os.environ.get(API_KEY_ENV) or None
    index = open_index(args.index)  # before loading models too: a wrong path fails at once
    chunking = chunk_options(args)
    sparse = load_sparse_models(args.sparse or [], args)
    models = load_models(args.model or ([] if sparse else [None]), args)
    rerankers = load_rerankers(args.reranker or [], args)
    classifiers = load_rerankers(args.classifier or [], args, flag="--classifier")
    for name, model in served_names(models)[0].items():  # before saying that it serves
        check_default_prompt_name(args.default_prompt_name, name, dict(getattr(model, "prompts", {}) or {}))
        if chunking:
            check_chunking_fits(name, model, chunking, args.default_prompt_name)
    if api_key is None and not is_loopback(args.host):
        print(
            f"sbert: warning: serving on {args.host} without an API key: anyone who can reach port "
            f"{args.port} can use this server. Pass --api-key KEY (or set {API_KEY_ENV}).",
            file=sys.stderr,
        )
    names = ", ".join(served_names({**models, **sparse})[0])  # the names clients use (not paths)

    def announce() -> None:  # once the app is built: a refused start prints only its error
        if rerankers:
            reranking = ", ".join(served_names(rerankers)[0])
            print(f"sbert: reranking with {reranking} (POST /rerank, /v1/rerank)", file=sys.stderr)
        if classifiers:
            classifying = ", ".join(served_names(classifiers)[0])
            print(f"sbert: classifying with {classifying} (POST /predict)", file=sys.stderr)
        if index is not None:
            print(
                f"sbert: searching {index.path} ({len(index)} texts, built with {index.model_name})",
                file=sys.stderr,
            )
        print(
            f"sbert: serving {names} on http://{_url_host(args.host)}:{args.port} (Ctrl-C to stop)",
            file=sys.stderr,
        )

    options = {name: getattr(args, name) for name in SERVE_OPTIONS}
    cross_encoders = {"rerankers": rerankers or None, "classifiers": classifiers or None}
    cross_encoders["sparse_models"] = sparse or None
    options.update(cross_encoders, **chunking, api_key=api_key, index=index, announce=announce)
    serve(models or None, **options)
    return 0


def check_chunking_fits(
    name: str, model: Any, chunking: dict[str, int], default_prompt_name: str | None
) -> None:
    """Refuse --chunk-tokens that a served model cannot cut (with its default prompt), before serving."""
    from .._server.engine import check_default_chunking
    from .._server.reading import readers_of

    prompts = dict(getattr(model, "prompts", {}) or {})
    prompt = prompts.get(default_prompt_name or getattr(model, "default_prompt_name", None) or "", "")
    readers = readers_of(model)[0].values()
    check_default_chunking(name, readers, chunking["chunk_tokens"], chunking["chunk_overlap"], prompt)


def open_index(paths: list[str] | None) -> Any:
    """The ``VectorIndex`` named by ``--index`` (one at most), or None; missing or corrupt ones fail here."""
    if not paths:
        return None
    if len(paths) > 1:
        raise InputError(f"--index was given {len(paths)} times; a server searches one index.")
    from .._search.index import VectorIndex

    return VectorIndex.open(paths[0])


def load_models(specs: list[str | None], args: argparse.Namespace) -> dict[str, Any]:
    """``{name: model}`` for ``[NAME=]MODEL`` specs, in order; ``None`` is the default model."""
    from .._format.hub import DEFAULT_MODEL

    models: dict[str, Any] = {}
    for spec in specs:
        name, source = split_spec(spec)
        if source is not None and is_fake_spec(source):
            model: Any = fake_model(source)
        else:
            model = load_model(argparse.Namespace(**{**vars(args), "model": source}))
        name = name or (source if source is not None else DEFAULT_MODEL)
        if name in models:
            raise InputError(f"two models are named {name!r}; name them apart with --model NAME=MODEL.")
        models[name] = model
    return models


def load_rerankers(specs: list[str], args: argparse.Namespace, flag: str = "--reranker") -> dict[str, Any]:
    """``{name: CrossEncoder}`` for ``--reranker`` (or ``--classifier``) ``[NAME=]MODEL`` specs, in order."""
    from .rerank import load_cross_encoder

    named = named_specs(specs, flag, flag.removeprefix("--"))
    return {name: load_cross_encoder(source, args) for name, source in named.items()}


def load_sparse_models(specs: list[str], args: argparse.Namespace) -> dict[str, Any]:
    """``{name: SparseEncoder}`` for ``--sparse [NAME=]MODEL`` specs, in order: on ONNX Runtime (no torch)
    unless ``--backend torch``."""
    from .._sparse.model import SparseEncoder

    backend = "torch" if args.backend == "torch" else "onnx"
    device = args.device if backend == "torch" else None
    return {
        name: SparseEncoder(source, backend=backend, device=device, allow_pickle=args.allow_pickle)
        for name, source in named_specs(specs, "--sparse", "sparse model").items()
    }


def named_specs(specs: list[str], flag: str, kind: str) -> dict[str, str]:
    """``{name: source}`` of ``flag``'s ``[NAME=]MODEL`` specs, in order (the name defaults to the source);
    two of one name are an InputError."""
    named: dict[str, str] = {}
    for spec in specs:
        name, source = split_spec(spec)
        assert source is not None  # a spec is never None here
        name = name or source
        if name in named:
            raise InputError(f"two {kind}s are named {name!r}; name them apart with {flag} NAME=MODEL.")
        named[name] = source
    return named


def split_spec(spec: str | None) -> tuple[str | None, str | None]:
    """``"name=path"`` -> ``("name", "path")``; a spec whose part before '=' looks like a path is all path."""
    if spec is None or "=" not in spec:
        return None, spec
    name, _, source = spec.partition("=")
    if not _NAME.fullmatch(name) or Path(spec).exists():
        return None, spec
    if not source:
        raise InputError(f"--model {spec!r} names no model after '='.")
    return name, source


def is_fake_spec(source: str) -> bool:
    return (source == "fake" or source.startswith(("fake:", "fake?"))) and not Path(source).exists()


def fake_model(source: str) -> Any:
    """A FakeEncoder from ``fake[:DIM][?delay=S&token_delay=S&max_seq_length=N&seed=N]``."""
    from .._fake import FakeEncoder

    head, _, query = source.partition("?")
    dim_text = head.partition(":")[2]
    options: dict[str, Any] = {}
    try:
        dimension = int(dim_text) if dim_text else 32
        for key, value in parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query)):
            if key in ("delay", "token_delay"):
                options[key] = float(value)
            elif key in ("max_seq_length", "seed"):
                options[key] = int(value)
            else:
                raise InputError(
                    f"unknown option {key!r} in {source!r}; use delay, token_delay, max_seq_length, seed."
                )
    except ValueError as e:
        if isinstance(e, InputError):
            raise
        raise InputError(
            f"cannot read the fake model spec {source!r}: {e}; e.g. 'fake:16?delay=0.1'."
        ) from None
    return FakeEncoder(dimension, name="fake", **options)


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def is_loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _port(value: str) -> int:
    try:
        port = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port number, got {value!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port number 0-65535, got {value!r}")
    return port
