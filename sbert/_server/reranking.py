"""Rerankers on the server: a served ``CrossEncoder`` whose query-document pairs share the batcher's batches.

A reranker is batched like an embedding model (``engine.Batcher``): each document of a request is one input
(the pair ``[CLS] query [SEP] document [SEP]``, tokenized off the event loop), its row the pair's logit. The
routes turn logits into scores with the model's activation (Sigmoid for sentence-transformers' rerankers,
as ``CrossEncoder.predict``) unless the request asks for raw scores, and sort them as ``CrossEncoder.rank``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .._errors import InputError
from .engine import batch_plan
from .reading import with_truncation_side


class ServedReranker:
    """A loaded ``CrossEncoder`` with one label, as the server uses it (the ``engine.Batched`` protocol)."""

    dimension = 1  # one logit per pair: the width of the batcher's rows

    def __init__(
        self, name: str, model: Any, *, max_batch_tokens: int | None = None, workers: int | None = None
    ) -> None:
        if int(model.num_labels) != 1:
            raise InputError(
                f"reranker {name!r} has {model.num_labels} labels; a reranker gives one relevance score per "
                "pair: serve a one-label cross-encoder (a multi-label one classifies pairs: use predict)."
            )
        self.name = name
        self.model = model
        self.max_length = int(model.max_seq_length)
        self.backend = str(getattr(model, "backend", "unknown"))
        self.precision = str(getattr(model, "precision", "fp32"))
        self.activation = model.activation
        # Private copies for both truncation sides: a request cutting on the left never changes another's.
        self.tokenizers = {side: with_truncation_side(model.tokenizer, side) for side in ("right", "left")}
        plan = batch_plan(model, max_batch_tokens, workers)
        self.max_batch_size, self.max_batch_tokens, self.workers = plan

    def tokenize(self, query: str, documents: Sequence[str], side: str = "right") -> list[Any]:
        """The encodings of the pairs ``(query, document)``, cut at the model's limit on ``side`` (the
        longer text of a pair loses tokens first, as sentence-transformers truncates); runs in a thread."""
        return self.tokenizers[side].encode_pairs([(query, document) for document in documents])

    def pad(self, encodings: Sequence[Any], task: str | None = None) -> dict[str, Any]:
        return self.tokenizers["right"].pad(encodings)

    def embed(self, batch: dict[str, np.ndarray]) -> np.ndarray:
        """Logits ``(B, 1)`` of a padded batch of pairs, as ``CrossEncoder.predict`` computes them."""
        return np.asarray(self.model.logits_batch(batch), dtype=np.float32)

    def scores(self, logits: np.ndarray, raw: bool = False) -> np.ndarray:
        """``(n,)`` scores of pairs from their logits ``(n, 1)``: the activation's (``predict``'s scores), or
        the logits themselves when ``raw``."""
        return (logits if raw else self.activation(logits))[:, 0].astype(np.float32, copy=False)

    def warm_up(self) -> None:
        """Score one tiny pair so the first request does not pay for lazy initialization."""
        self.embed(self.pad(self.tokenize("warm up", ["warm up"])))

    def describe(self) -> dict[str, Any]:
        """What /info says of this reranker."""
        return {
            "name": self.name,
            "backend": self.backend,
            "precision": self.precision,
            "activation": self.activation.name,
            "max_input_length": self.max_length,
            "max_batch_tokens": self.max_batch_tokens,
        }


def ranking(scores: np.ndarray, top_n: int | None = None) -> list[tuple[int, float]]:
    """``[(index, score)]`` best first (ties keep input order, as ``CrossEncoder.rank``), the first
    ``top_n`` only when given."""
    order = sorted(range(len(scores)), key=lambda i: -float(scores[i]))  # sorted() is stable
    return [(i, float(scores[i])) for i in order[:top_n]]
