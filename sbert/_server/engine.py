"""The server's compute side: one ``ServedModel`` per model and one ``Batcher`` (queue + thread) for each.

Requests from many clients meet in the batcher's queue as single inputs (already tokenized, off the
event loop). One worker thread per model builds one batch at a time from everything queued: the oldest
input, so none waits behind later ones, plus the queued inputs nearest its length, up to a padded-token
budget (``pick_batch``). It runs the model and hands each request its rows back as soon as its last input is
done, then builds the next batch from what is queued by then, new arrivals included (continuous batching:
no request waits for a whole round of others). The event loop only awaits futures, so ``/health`` and
``/metrics`` answer while the model works.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from .._compat import prompt_table, task_prompt_name
from .._errors import InputError, ModelLoadError
from .._format.layout import MODULES_FILE, pooling_config_from_file, read_modules
from .._numeric import similarity_matrix
from .._tokens.chunking import Window, check_chunking
from .errors import BadInput, InvalidRequest, ShuttingDown
from .metrics import ServerMetrics
from .reading import Reader, find_router, readers_of, task_of_prompt_name, token_limit

log = logging.getLogger("sbert.server")

# Batch limits when the model does not say (the fp32 defaults of encode): (texts, padded tokens).
DEFAULT_BATCH_LIMITS = (32, 16384)
# Padded tokens per batch on a CPU, by precision. A server sorts only the few hundred inputs in flight, not
# a whole corpus, so big batches mix lengths and pad a lot; on a CPU a small batch costs about the same per
# token, so small batches of similar lengths win (measured on STSb sentences in windows of 270 inputs:
# fp32 512 tokens 0.90 of corpus-sorted encode vs 0.80 with encode's 16384; bf16 1024 tokens, where AMX
# needs bigger GEMMs). GPUs keep encode's budgets.
CPU_BATCH_TOKENS = {"fp32": 512, "int8": 512, "bf16": 1024, "fp16": 1024}
# sbert's pooling modes under the names TEI's /info gives them, where they differ.
TEI_POOLING_NAMES = {"lasttoken": "last_token"}
# Requests arrive in bursts (clients answered by one batch send their next requests together): when the
# worker wakes, it waits while the queue is still growing, up to this long, to sort one larger window.
_GATHER_SECONDS = 0.004
_GATHER_STEP = 0.001
NO_CHUNKS = "a fake model's tokenizer gives no character offsets; leave chunk_tokens out"


TIKTOKEN_HINT = (
    " Send text instead; LangChain's OpenAIEmbeddings sends tiktoken ids unless given "
    "check_embedding_ctx_length=False."
)


def check_vocabulary(tokenizer: Any, rows: Sequence[Sequence[int]], owner: str, hint: str = "") -> None:
    """400 naming the first id of ``rows`` outside ``tokenizer``'s vocabulary (``owner``: whose it is, as
    "model 'x'"): the tokenizer would skip it silently, or crash on one beyond 32 bits."""
    size = int(tokenizer.backend.get_vocab_size(with_added_tokens=True))
    for i, row in enumerate(rows):
        wrong = next((token for token in row if not 0 <= token < size), None)
        if wrong is not None:
            raise BadInput(
                f"input {i} holds token id {wrong}, outside the vocabulary of {owner} (ids 0 to {size - 1}): "
                f"token ids are read as the model's own.{hint}"
            )


def _as_tei(skip_special_tokens: bool) -> dict[str, bool]:
    """decode's options as text-embeddings-inference decodes (the tokenizers library's decode: no
    transformers clean-up of tokenization spaces, whatever the tokenizer's config says)."""
    return {"skip_special_tokens": skip_special_tokens, "clean_up_tokenization_spaces": False}


def decode_rows(tokenizer: Any, rows: list[list[int]], owner: str, skip_special_tokens: bool) -> list[str]:
    """The text of each row of token ids, after :func:`check_vocabulary` (TEI's ``/decode``)."""
    check_vocabulary(tokenizer, rows, owner)
    return [str(tokenizer.decode(row, **_as_tei(skip_special_tokens))) for row in rows]


class ServedModel:
    """A loaded model (``SentenceTransformer`` or ``FakeEncoder``) as the server uses it.

    Texts are read by the ``Reader`` of the request's task (``reading``): a Router model's routes may
    tokenize with their own tokenizers, and every reader holds private copies for both truncation sides, so
    a request that truncates on the left never changes the model's own tokenizer under another request.
    """

    sparse = False  # rows are dense vectors (a sparse model's are index-value pairs: ``sparse.ServedSparse``)

    def __init__(
        self,
        name: str,
        model: Any,
        *,
        max_batch_tokens: int | None = None,
        workers: int | None = None,
        default_prompt_name: str | None = None,
        chunk_tokens: int | None = None,
        chunk_overlap: int = 0,
    ) -> None:
        self.name = name
        self.model = model
        # A model loaded with truncate_dim serves that many dimensions, as its encode returns.
        # sentence-transformers 6's name, else the older one (a duck-typed encoder may have only that)
        width = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        self.dimension = int(width())
        self.max_length = token_limit(model)
        self.backend = str(getattr(model, "backend", "unknown"))
        self.precision = str(getattr(model, "precision", "fp32"))
        self.similarity_fn_name = str(getattr(model, "similarity_fn_name", "cosine"))
        self.prompts: dict[str, str] = dict(getattr(model, "prompts", {}) or {})
        # The prompt of requests that choose none: the server's choice, else the model's own (as encode).
        self.default_prompt_name = default_prompt_name or getattr(model, "default_prompt_name", None)
        check_default_prompt_name(default_prompt_name, name, self.prompts)
        self.pooling = pooling_name(model)
        # Each task's tokenizers (a Router's routes may read with their own); a task a Router lacks: why.
        router = self.router(model)
        self._readers, self._missing = readers_of(self.reading_module(model), router)
        self.routed = router is not None  # only then do tasks pick modules, and split batches
        # The server's windows for long texts (--chunk-tokens), for requests that choose none.
        self.chunk_tokens, self.chunk_overlap = chunk_tokens, chunk_overlap
        if chunk_tokens is not None:
            check_default_chunking(
                name, self._readers.values(), chunk_tokens, chunk_overlap, self.prompt(None)
            )
        elif chunk_overlap:
            raise InputError("chunk_overlap needs chunk_tokens (--chunk-overlap needs --chunk-tokens).")
        self._embed = self.batch_step(model)
        plan = batch_plan(model, max_batch_tokens, workers)
        self.max_batch_size, self.max_batch_tokens, self.workers = plan

    def batch_step(self, model: Any) -> Any:
        """What computes a padded batch: the per-batch step encode uses (FakeEncoder has the same), the model
        in eval mode first, as encode puts it (a model is loaded in training mode)."""
        if callable(getattr(model, "eval", None)):
            model.eval()
        return model.embed_batch

    def reading_module(self, model: Any) -> Any:
        """What the request texts are read (tokenized) with: the model, whose Router routes have their own."""
        return model

    def router(self, model: Any) -> Any:
        """The model's Router (its tasks pick the modules), or None."""
        return find_router(model)

    def read_as(self, prompt_name: str | None, task: str | None) -> tuple[str, str | None]:
        """``(prompt, route)`` of a request: the text put before every input, and the task a Router model
        routes it by (None for other models). On a Router model a ``prompt_name`` that names a task routes
        like ``input_type``: "query" as ``encode_query``, "document" as ``encode_document``, "passage" or
        "corpus" as ``encode_document(prompt_name=...)``."""
        if not self.routed:
            return self.prompt(prompt_name, task), None
        if task is None and prompt_name is not None:
            task = task_of_prompt_name(prompt_name)
            if prompt_name == task:  # "query", "document": that task's own prompt, as encode_query picks it
                prompt_name = None
        self.reader(task)  # a task the Router cannot route: 422 before any work
        return self.prompt(prompt_name, task), task

    def reader(self, task: str | None) -> Reader:
        """What reads the texts of ``task`` (None: of requests without one); 422 for a task the model's
        Router has no route for."""
        found = self._readers.get(task)
        if found is not None:
            return found
        routes = f"({self._missing[task]})"
        if task is None:
            raise InvalidRequest(
                f'model {self.name!r} has no default route {routes}: send "input_type": "query" or '
                '"document" (POST /v1/embeddings), or "prompt_name": "query" or "document".'
            )
        raise InvalidRequest(f"model {self.name!r} cannot embed {task!r} texts {routes}.")

    def chunking(self, chunk_tokens: int | None, chunk_overlap: int | None) -> tuple[int, int] | None:
        """``(tokens, overlap)`` of the windows a request is cut into: its own ``chunk_tokens`` (overlap 0
        unless given), else the server's (--chunk-tokens, --chunk-overlap); None: not cut."""
        if chunk_tokens is not None:
            chosen = (chunk_tokens, 0 if chunk_overlap is None else chunk_overlap)
        elif self.chunk_tokens is not None:
            chosen = (self.chunk_tokens, self.chunk_overlap if chunk_overlap is None else chunk_overlap)
        elif chunk_overlap is not None:
            raise InvalidRequest(
                "chunk_overlap needs chunk_tokens: send chunk_tokens too (tokens per window)."
            )
        else:
            return None
        check_chunking(*chosen)  # InputError: 422 naming the fix
        return chosen

    def windows(
        self, texts: list[str], chunking: tuple[int, int], prompt: str, task: str | None
    ) -> list[list[Window]]:
        """The windows each text is cut into (runs in a thread), as ``encode(..., chunk_tokens=N)`` cuts."""
        reader = self.reader(task)
        if not reader.can_chunk():
            raise InvalidRequest(f"model {self.name!r} cannot cut texts into windows: {NO_CHUNKS}")
        return reader.windows(texts, *chunking, prompt)

    def prompt(self, name: str | None, task: str | None = None) -> str:
        """The text put before every input: prompt ``name``; else the prompt ``encode_query`` (task "query")
        or ``encode_document`` (task "document") uses; else the default prompt name's; else none."""
        if name is None and task is not None:
            return prompt_table(self.prompts).get(task_prompt_name(self.prompts, task) or "", "")
        name = self.default_prompt_name if name is None else name
        if name is None:
            return ""
        if name not in self.prompts:
            raise InputError(
                f"unknown prompt_name {name!r}; model {self.name!r} has prompts: {_listed(self.prompts)}. "
                "Send one of them, or none."
            )
        return self.prompts[name]

    def prompt_length(self, prompt: str, task: str | None = None) -> int:
        """Tokens of ``prompt`` that pooling leaves out (a Pooling with ``include_prompt: false``), else 0."""
        counter = getattr(self.model, "prompt_length", None)  # FakeEncoder: it pools every token
        if not prompt or counter is None:
            return 0
        return int((counter(prompt) if task is None else counter(prompt, task)) or 0)

    def token_embeddings(self, texts: list[str]) -> list[np.ndarray]:
        """Every token's vector of each text (prompt prepended), as ``model.token_embeddings`` gives them."""
        compute = getattr(self.model, "token_embeddings", None)
        try:
            if compute is None:
                raise InputError(f"a {type(self.model).__name__} has no token embeddings")
            return list(compute(texts))
        except (InputError, ModelLoadError) as e:  # a model or graph without them
            raise InvalidRequest(
                f"model {self.name!r} cannot give token embeddings ({e}); use POST /embed for sentence "
                "embeddings."
            ) from None

    def tokenize(
        self,
        texts: Sequence[str],
        side: str = "right",
        task: str | None = None,
        special_tokens: bool = True,
        truncate: bool = True,
    ) -> list[Any]:
        """Encodings of ``texts``, cut at the limit of ``task``'s reader on ``side`` unless not ``truncate``
        (runs in a thread); ``special_tokens=False``: none added (texts decoded from token ids)."""
        return self.reader(task).tokenize(texts, side, special_tokens, truncate)

    def texts_of_ids(self, ids: list[list[int]], task: str | None = None) -> list[str]:
        """The text of each input's token ids (the model's own vocabulary), special tokens kept, as
        text-embeddings-inference decodes them before re-tokenizing; 400 naming an id the vocabulary
        lacks, or for a fake model (runs in a thread)."""
        tokenizer = self.reader(task).tokenizers["right"]
        if not hasattr(tokenizer, "decode"):
            raise BadInput(f"model {self.name!r} cannot read token ids: a fake model has no vocabulary.")
        check_vocabulary(tokenizer, ids, f"model {self.name!r}", TIKTOKEN_HINT)
        return [str(tokenizer.decode(row, **_as_tei(False))) for row in ids]

    def decode(self, rows: list[list[int]], skip_special_tokens: bool = True) -> list[str]:
        """The text of each row of token ids, by the tokenizer of the model's first reader; 400 naming an id
        the vocabulary lacks, 422 for a fake model (runs in a thread)."""
        tokenizer = next(iter(self._readers.values())).tokenizers["right"]
        if not hasattr(tokenizer, "decode"):
            raise InvalidRequest(
                f"model {self.name!r} cannot decode token ids: a fake model has no vocabulary."
            )
        return decode_rows(tokenizer, rows, f"model {self.name!r}", skip_special_tokens)

    def pad(self, encodings: Sequence[Any], task: str | None = None) -> dict[str, Any]:
        padded = self.reader(task).pad(encodings)
        if task is not None and self.routed:  # the Router's route, as encode passes it
            padded["task"] = task
        return padded

    def embed(self, batch: dict[str, np.ndarray]) -> np.ndarray:
        """``(B, d)`` float32 embeddings of a padded batch, exactly as ``encode`` computes them."""
        return np.asarray(self._embed(batch), dtype=np.float32)[:, : self.dimension]

    def similarity(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return similarity_matrix(a, b, self.similarity_fn_name)

    def check_dimensions(self, dimensions: int | None, field: str = "dimensions") -> None:
        """422 unless ``dimensions`` (Matryoshka truncation; None: keep all) fits this model; ``field``: the
        request's name for it (Cohere's ``output_dimension``)."""
        if dimensions is not None and not 1 <= dimensions <= self.dimension:
            raise InvalidRequest(
                f"{field} must be between 1 and {self.dimension} (the dimension of model {self.name!r}), "
                f"got {dimensions}."
            )

    def keep_dimensions(
        self, vectors: np.ndarray, dimensions: int | None, field: str = "dimensions"
    ) -> np.ndarray:
        """The first ``dimensions`` columns of ``vectors`` ``(n, d)`` (all when None), C-ordered."""
        self.check_dimensions(dimensions, field)
        return np.ascontiguousarray(vectors if dimensions is None else vectors[:, :dimensions])

    def warm_up(self) -> None:
        """Run one tiny batch so the first request does not pay for lazy initialization."""
        task = next(iter(self._readers))  # a Router without a default route reads only its tasks
        self.embed(self.pad(self.tokenize(["warm up"], task=task), task))

    def describe(self) -> dict[str, Any]:
        """What /info says of this model (``max_input_length`` is TEI's name for the token limit)."""
        shown = (
            "name",
            "dimension",
            "backend",
            "precision",
            "pooling",
            "similarity_fn_name",
            "max_batch_tokens",
            "default_prompt_name",
        )
        return {
            **{key: getattr(self, key) for key in shown},
            "max_input_length": self.max_length,
            "prompts": sorted(self.prompts),
            "tasks": [task for task in self._readers if task is not None] if self.routed else [],
        }


def check_default_prompt_name(name: str | None, model_name: str, prompts: dict[str, str]) -> None:
    """Refuse a server-wide default prompt name (``--default-prompt-name``) that a served model lacks."""
    if name is not None and name not in prompts:
        raise InputError(
            f"the default prompt name {name!r} (--default-prompt-name) is not a prompt of model "
            f"{model_name!r}, whose prompts are: {_listed(prompts)}; choose one of them."
        )


def check_default_chunking(
    name: str, readers: Iterable[Reader], chunk_tokens: int, chunk_overlap: int, prompt: str = ""
) -> None:
    """Refuse, at start-up, server-wide windows (--chunk-tokens) that model ``name`` cannot cut, read by
    ``readers`` (``reading.readers_of``) with its default ``prompt`` before every window."""
    check_chunking(chunk_tokens, chunk_overlap)
    for reader in readers:
        if not reader.can_chunk():
            raise InputError(f"model {name!r} cannot cut texts into windows (--chunk-tokens): {NO_CHUNKS}")
        limit = reader.window_limit(prompt)
        if chunk_tokens > limit:
            raise InputError(
                f"--chunk-tokens {chunk_tokens} does not fit model {name!r}: its windows hold at most "
                f"{limit} tokens (max_seq_length less the special tokens and its default prompt); pass "
                f"--chunk-tokens {limit} or less."
            )


def _listed(prompts: dict[str, str]) -> str:
    return ", ".join(map(repr, prompts)) or "none"


def pooling_name(model: Any) -> str:
    """The pooling of ``model`` as TEI's /info names it ("mean", "cls", "last_token", ...; several: joined
    by "+"), read from the saved folder's files, so an ONNX model never loads torch for it."""
    folder = getattr(model, "folder", None)
    if folder is not None and (Path(folder) / MODULES_FILE).is_file():
        pools = [entry.path for entry in read_modules(Path(folder)) if entry.kind == "Pooling" and entry.path]
        modes = pooling_config_from_file(Path(folder) / pools[0] / "config.json")[1] if pools else ("mean",)
    elif folder is None and getattr(model, "backend", None) == "torch":  # built from modules in memory
        modes = next((module.modes for module in model if hasattr(module, "modes")), ("mean",))
    else:  # a plain Hugging Face folder (mean pooling is added) or a fake model (the mean of its tokens)
        modes = ("mean",)
    return "+".join(TEI_POOLING_NAMES.get(mode, mode) for mode in modes)


def batch_plan(model: Any, max_batch_tokens: int | None, workers: int | None) -> tuple[int, int, int]:
    """``(max_batch_size, max_batch_tokens, workers)`` of a served model (an embedding model or a reranker):
    the limits of its precision, the CPU budgets, and the worker threads; the chosen ones where given."""
    batch_limits = _batch_limits(model)
    on_cpu = str(getattr(model, "device", "cpu")).startswith("cpu")
    precision = str(getattr(model, "precision", "fp32"))
    default_tokens = CPU_BATCH_TOKENS.get(precision, batch_limits[1]) if on_cpu else batch_limits[1]
    torch_on_cpu = getattr(model, "backend", None) == "torch" and on_cpu
    if workers is None:  # two batches at once for torch on a multi-core CPU: measured +26-57 % on 2 cores
        from .._backends.cpu import available_cpus

        workers = 2 if torch_on_cpu and available_cpus() >= 2 else 1
    if workers > 1 and torch_on_cpu:
        _split_torch_threads(workers)
    return batch_limits[0], max_batch_tokens or default_tokens, workers


def _split_torch_threads(workers: int) -> None:
    """Give each of ``workers`` concurrent batches its share of the CPU's threads (process-wide setting).

    Several single-threaded batches at once keep the cores busy when one of them waits: torch's intra-op
    threads of one batch stall together whenever the event loop or tokenization takes a core."""
    import torch

    from .._backends.cpu import compute_threads

    torch.set_num_threads(max(1, compute_threads() // workers))


def _batch_limits(model: Any) -> tuple[int, int]:
    if getattr(model, "backend", None) == "fake":
        return DEFAULT_BATCH_LIMITS
    from .._tokens.batching import BATCH_LIMITS

    return BATCH_LIMITS.get(getattr(model, "precision", "fp32"), DEFAULT_BATCH_LIMITS)


class _Job:
    """One request's inputs: filled row by row by the worker, resolved when the last row lands."""

    __slots__ = ("failed", "future", "loop", "out", "remaining")

    def __init__(self, loop: asyncio.AbstractEventLoop, n: int, dimension: int | None) -> None:
        self.loop = loop
        self.future: asyncio.Future[Any] = loop.create_future()
        # dense rows in one array; rows of other shapes (None: a sparse model's) in a list
        self.out: Any = np.empty((n, dimension), dtype=np.float32) if dimension is not None else [None] * n
        self.remaining = n
        self.failed = False


@dataclass
class _Item:
    job: _Job
    row: int
    encoding: Any
    length: int
    prompt_length: int = 0  # prompt tokens pooling leaves out: one value per batch, so batches never mix them
    task: str | None = None  # a Router's route: one per batch too
    queued_at: float = field(default_factory=time.perf_counter)


class Batched(Protocol):
    """What a batcher needs of its model: an embedding model (``ServedModel``) or a reranker
    (``reranking.ServedReranker``, whose rows are the logits of query-document pairs)."""

    name: str
    dimension: int  # floats per input: an embedding's, or a reranker's logits
    sparse: bool  # rows are a sparse model's (indices, values), of any length: kept in a list
    max_batch_size: int
    max_batch_tokens: int
    workers: int

    def pad(self, encodings: Sequence[Any], task: str | None = None) -> dict[str, Any]: ...

    def embed(self, batch: dict[str, np.ndarray]) -> np.ndarray: ...

    def warm_up(self) -> None: ...


class Batcher:
    """The queue of one model and the thread that turns it into batches."""

    def __init__(self, served: Batched, metrics: ServerMetrics) -> None:
        self.served = served
        self.metrics = metrics
        self._pending: deque[_Item] = deque()
        self._wake = threading.Condition()
        self._rows_lock = threading.Lock()  # jobs' row counts, when several workers fill one request
        self._stopping = False
        self._threads = [
            threading.Thread(target=self._run, name=f"sbert-batcher-{served.name}-{i}", daemon=True)
            for i in range(served.workers)
        ]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def depth(self) -> int:
        return len(self._pending)

    async def embed(self, encodings: Sequence[Any], prompt_length: int = 0, task: str | None = None) -> Any:
        """``(n, d)`` embeddings of tokenized inputs, in order, computed in batches with other requests' (a
        sparse model's: a list of rows).

        ``prompt_length``: the tokens of their prompt that pooling leaves out (``ServedModel.prompt_length``);
        ``task``: the route of a Router model (``ServedModel.read_as``), tokenized with that route's reader.
        """
        served = self.served
        job = _Job(asyncio.get_running_loop(), len(encodings), None if served.sparse else served.dimension)
        if not encodings:
            return job.out
        with self._wake:
            if self._stopping:
                raise ShuttingDown("the server is shutting down; retry on another instance.")
            self._pending.extend(
                _Item(job, row, enc, len(enc.ids), prompt_length, task) for row, enc in enumerate(encodings)
            )
            self._wake.notify()
        return await job.future

    def close(self, timeout: float = 10.0) -> None:
        """Stop after the queued work is done (or ``timeout`` passes)."""
        with self._wake:
            self._stopping = True
            self._wake.notify_all()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            if thread.is_alive():
                thread.join(max(0.0, deadline - time.monotonic()))

    # ------------------------------------------------------------------ the worker thread

    def _run(self) -> None:
        while True:
            batch = self._take()
            if batch is None:
                return
            try:
                self._process(batch)
            except BaseException as error:  # never let the worker die: fail these requests instead
                log.exception("model failed on a batch of %d inputs", len(batch))
                for item in batch:
                    _fail(item.job, error)

    def _take(self) -> list[_Item] | None:
        """Wait for work; take the next batch: the oldest input and the queued inputs nearest its length."""
        served = self.served
        with self._wake:
            while not self._pending and not self._stopping:
                self._wake.wait()
            if not self._pending:
                return None
            waited, seen = 0.0, -1
            # A burst is arriving and the queue holds less than a batch: wait while it grows, briefly.
            while (
                len(self._pending) != seen
                and waited < _GATHER_SECONDS
                and not self._stopping
                and sum(item.length for item in self._pending) < served.max_batch_tokens
            ):
                seen = len(self._pending)
                self._wake.wait(_GATHER_STEP)  # releases the lock: requests keep arriving meanwhile
                waited += _GATHER_STEP
            live = [item for item in self._pending if not (item.job.failed or item.job.future.done())]
            if not live:  # all cancelled: the clients went away
                self._pending.clear()
                return []
            # The batch shares the oldest input's prompt length and task; the others wait for a batch of
            # their own.
            kind = (live[0].prompt_length, live[0].task)
            pending = [item for item in live if (item.prompt_length, item.task) == kind]
            others = [item for item in live if (item.prompt_length, item.task) != kind]
            chosen = set(
                pick_batch(
                    [item.length for item in pending],
                    max_batch_size=served.max_batch_size,
                    max_tokens=served.max_batch_tokens,
                )
            )
            rest = [item for i, item in enumerate(pending) if i not in chosen]
            self._pending = deque(sorted(rest + others, key=lambda item: item.queued_at) if others else rest)
            return [pending[i] for i in sorted(chosen)]

    def _process(self, batch: list[_Item]) -> None:
        if not batch:
            return
        served, name = self.served, self.served.name
        started = time.perf_counter()
        for item in batch:
            self.metrics.queue_seconds.observe(started - item.queued_at, name)
        padded = served.pad([item.encoding for item in batch], batch[0].task)
        if batch[0].prompt_length:
            padded["prompt_length"] = np.array(batch[0].prompt_length, dtype=np.int64)
        vectors = served.embed(padded)  # (B, d)
        seconds = time.perf_counter() - started
        width = padded["input_ids"].shape[1]
        self.metrics.record_batch(
            name, len(batch), sum(it.length for it in batch), len(batch) * width, seconds
        )
        done = []
        with self._rows_lock:
            for item, vector in zip(batch, vectors):
                job = item.job
                job.out[item.row] = vector
                job.remaining -= 1
                if job.remaining == 0:
                    done.append(job)
        for job in done:
            _resolve(job)


def pick_batch(lengths: Sequence[int], *, max_batch_size: int, max_tokens: int) -> list[int]:
    """Indices of the next batch from queued inputs of these token ``lengths``, oldest first in the list.

    The oldest input always goes in, so none waits for more than the inputs queued before it; the rest
    are its neighbours by length, added one at a time where they waste the fewest padded tokens (a shorter
    one wastes the gap to the batch's width, a longer one widens every row), while the padded size
    ``len(batch) * longest`` stays within ``max_tokens`` and the count within ``max_batch_size``.
    """
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])  # by length, oldest first among equals
    pos = order.index(0)
    lo = hi = pos  # the batch is order[lo : hi + 1]
    width = max(lengths[0], 1)
    count = 1
    while count < max_batch_size:
        shorter = lengths[order[lo - 1]] if lo > 0 else None
        longer = lengths[order[hi + 1]] if hi + 1 < len(order) else None
        grow_shorter = shorter is not None and (count + 1) * width <= max_tokens
        grow_longer = longer is not None and (count + 1) * max(longer, width) <= max_tokens
        if grow_shorter and grow_longer:
            grow_longer = count * (max(longer, width) - width) < width - shorter  # type: ignore[operator]
            grow_shorter = not grow_longer
        if grow_shorter:
            lo -= 1
        elif grow_longer:
            hi += 1
            width = max(width, longer)  # type: ignore[type-var]
        else:
            break
        count += 1
    return order[lo : hi + 1]


def _resolve(job: _Job) -> None:
    def deliver() -> None:
        if not job.future.done():
            job.future.set_result(job.out)

    _call_in_loop(job, deliver)


def _fail(job: _Job, error: BaseException) -> None:
    if job.failed:
        return
    job.failed = True

    def deliver() -> None:
        if not job.future.done():
            job.future.set_exception(error)

    _call_in_loop(job, deliver)


def _call_in_loop(job: _Job, callback: Any) -> None:
    try:
        job.loop.call_soon_threadsafe(callback)
    except RuntimeError:  # the loop is closed: the server stopped and nobody waits any more
        pass
