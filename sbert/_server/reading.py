"""How a served model reads a request's texts: one ``Reader`` per task, and the token windows of long texts.

A model with a Router (sentence-transformers 5+'s asymmetric query/document models) may read each task's
texts with a tokenizer of its own (the first module of the task's route); every other model reads all texts
alike, whatever the task. A reader holds private tokenizer copies for both truncation sides, so a request that
cuts on the left never changes the tokenizer under another request, and plans the windows of long texts
(``chunk_tokens``) on the tokenizer the texts are read with.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .._compat import DOCUMENT_PROMPT_NAMES
from .._errors import InputError
from .._tokens.chunking import Window, plan_windows, window_limit

# The tasks a request can ask for (None: none), as encode, encode_query and encode_document pass them.
TASKS: tuple[str | None, ...] = (None, "query", "document")


@dataclass(frozen=True)
class Reader:
    """The tokenizers of one task, by truncation side (``"right"``, ``"left"``; a ``do_lower_case``
    module's lowercase in their normalizer)."""

    tokenizers: dict[str, Any]
    # False for a module that reads texts without [CLS]/[SEP] (SparseStaticEmbedding, the query route of
    # inference-free SPLADE)
    special_tokens: bool = True

    @property
    def max_length(self) -> int:
        return int(self.tokenizers["right"].max_length)

    def tokenize(
        self, texts: Sequence[str], side: str = "right", special_tokens: bool = True, truncate: bool = True
    ) -> list[Any]:
        """Encodings of ``texts`` cut at the limit on ``side`` (``truncate=False``: every token, where the
        tokenizer can give them); ``special_tokens=False`` leaves out the special tokens the reader would
        add (texts decoded from token ids, as TEI re-encodes them)."""
        tokenizer = self.tokenizers[side]
        add = special_tokens and self.special_tokens
        if not truncate and hasattr(tokenizer, "untruncated_backend"):  # a fake model's has none
            return tokenizer.untruncated_backend().encode_batch(list(texts), add_special_tokens=add)
        if add:
            return tokenizer.encode_texts(list(texts))
        return tokenizer.backend.encode_batch(list(texts), add_special_tokens=False)

    def pad(self, encodings: Sequence[Any]) -> dict[str, Any]:
        return self.tokenizers["right"].pad_encodings(encodings)

    def can_chunk(self) -> bool:
        return hasattr(self.tokenizers["right"], "encode_untruncated")  # a fake model's tokenizer has none

    def window_limit(self, prompt: str) -> int:
        """The most tokens a window may hold with ``prompt`` before it."""
        return window_limit(self.tokenizers["right"], prompt)

    def windows(
        self, texts: Sequence[str], chunk_tokens: int, chunk_overlap: int, prompt: str
    ) -> list[list[Window]]:
        """The windows of each text, as ``encode(..., chunk_tokens=N, chunk_overlap=M)`` cuts them."""
        tokenizer = self.tokenizers["right"]
        return plan_windows(tokenizer, texts, chunk_tokens, chunk_overlap, prompt=prompt)


LOOK: Any = object()  # readers_of's default: the caller did not look for the model's Router


def readers_of(
    model: Any, router: Any = LOOK
) -> tuple[dict[str | None, Reader], dict[str | None, InputError]]:
    """``({task: reader}, {task: why not})`` for each of ``TASKS``; a model without a Router reads every
    task alike, a Router model only the tasks it routes (None: its default route, if it has one).
    ``router``: the model's Router (None: it has none) where the caller looked for it, ``model`` then
    possibly a module that reads (a SparseEncoder's Transformer); else :func:`find_router` looks."""
    router = find_router(model) if router is LOOK else router
    if router is None:
        reader = _reader(model)
        return dict.fromkeys(TASKS, reader), {}
    first = next(iter(model))
    readers: dict[str | None, Reader] = {}
    missing: dict[str | None, InputError] = {}
    made: dict[int, Reader] = {}  # routes reading with one module share its reader
    for task in TASKS:
        try:
            if router is first:  # each route's first module tokenizes
                source = router.input_module(task)
            else:  # a shared input module reads every task; the Router only picks the later modules
                router.route_name(task)
                source = model
        except InputError as e:
            missing[task] = e
            continue
        readers[task] = made.setdefault(id(source), _reader(source))
    return readers, missing


def find_router(model: Any) -> Any:
    """The Router of a model's pipeline, or None. Only the torch backend runs Routers, so the modules of
    another backend's model are never loaded to look."""
    if getattr(model, "backend", None) != "torch":
        return None
    return next((module for module in model if hasattr(module, "route_name")), None)


def task_of_prompt_name(name: str | None) -> str | None:
    """The task whose prompt ``name`` is ("query"; "document", "passage", "corpus"), or None."""
    if name == "query":
        return "query"
    return "document" if name in DOCUMENT_PROMPT_NAMES else None


def _reader(source: Any) -> Reader:
    sides = ("right", "left")
    tokenizers = {side: with_truncation_side(source.tokenizer, side) for side in sides}
    return Reader(tokenizers, bool(getattr(source, "adds_special_tokens", True)))


def with_truncation_side(tokenizer: Any, side: str) -> Any:
    """A private copy of ``tokenizer`` that cuts on ``side`` (the model's own is never changed)."""
    return tokenizer.with_truncation_side(side)


def token_limit(model: Any) -> int:
    """The tokens a served input is cut to (``/info``'s ``max_input_length``): the model's
    ``max_seq_length`` where it is an int, else its tokenizer's own limit (a StaticEmbedding reports
    ``math.inf`` and a Router of them ``inf`` too, as sentence-transformers does)."""
    limit = model.max_seq_length
    return limit if isinstance(limit, int) else int(model.tokenizer.max_length)
