"""Rerankers on the server: a served ``CrossEncoder`` whose query-document pairs share the batcher's batches.

A reranker is batched like an embedding model (``engine.Batcher``): each document of a request is one input
(the pair ``[CLS] query [SEP] document [SEP]``, or rendered through the model's chat template, as the
CrossEncoder's ``pair_tokenizer`` reads it; tokenized off the event loop), its row the pair's logit. The
routes turn logits into scores with the model's activation (Sigmoid for sentence-transformers' rerankers,
as ``CrossEncoder.predict``) unless the request asks for raw scores, and sort them as ``CrossEncoder.rank``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .._errors import InputError, SbertError
from .engine import batch_plan, decode_rows
from .reading import token_limit


class ServedReranker:
    """A loaded ``CrossEncoder`` as the server uses it (the ``engine.Batched`` protocol): a reranker has one
    label; a classifier (``one_label=False``, ``POST /predict`` only) any number."""

    sparse = False  # its rows are logits, one per label

    def __init__(
        self,
        name: str,
        model: Any,
        *,
        max_batch_tokens: int | None = None,
        workers: int | None = None,
        one_label: bool = True,
    ) -> None:
        if one_label and int(model.num_labels) != 1:
            raise InputError(
                f"reranker {name!r} has {model.num_labels} labels; a reranker gives one relevance score per "
                "pair: serve a one-label cross-encoder (a multi-label one classifies pairs: use predict)."
            )
        self.name = name
        self.kind = "reranker" if one_label else "classifier"  # how messages name it
        self.model = model
        self.dimension = int(model.num_labels)  # logits per input: the width of the batcher's rows
        self.labels = label_names(model)
        self.max_length = token_limit(model)
        self.backend = str(getattr(model, "backend", "unknown"))
        self.precision = str(getattr(model, "precision", "fp32"))
        self.activation = model.activation
        # Private copies for both truncation sides: a request cutting on the left never changes another's.
        # They read pairs as predict does: through the model's chat template, with its default prompt.
        self.tokenizers = {side: model.pair_tokenizer(side) for side in ("right", "left")}
        plan = batch_plan(model, max_batch_tokens, workers)
        self.max_batch_size, self.max_batch_tokens, self.workers = plan

    def tokenize(self, query: str, documents: Sequence[str], side: str = "right") -> list[Any]:
        """The encodings of the pairs ``(query, document)``, cut at the model's limit on ``side`` (the
        longer text of a pair loses tokens first, as sentence-transformers truncates); runs in a thread."""
        return self.tokenizers[side].encode_pairs([(query, document) for document in documents])

    def tokenize_sequences(self, sequences: Sequence[tuple[str, ...]], side: str = "right") -> list[Any]:
        """The encodings of texts ``(a,)`` and pairs ``(a, b)``, in order, as ``predict`` reads a text and a
        pair; runs in a thread."""
        tokenizer = self.tokenizers[side]
        singles = [i for i, sequence in enumerate(sequences) if len(sequence) == 1]
        pairs = [i for i, sequence in enumerate(sequences) if len(sequence) == 2]
        encodings: list[Any] = [None] * len(sequences)
        for i, encoding in zip(singles, tokenizer.encode_texts([sequences[i][0] for i in singles])):
            encodings[i] = encoding
        for i, encoding in zip(pairs, tokenizer.encode_pairs([sequences[i] for i in pairs])):
            encodings[i] = encoding
        return encodings

    def pad(self, encodings: Sequence[Any], task: str | None = None) -> dict[str, Any]:
        return self.tokenizers["right"].pad_encodings(encodings)

    def decode(self, rows: list[list[int]], skip_special_tokens: bool = True) -> list[str]:
        """The text of each row of token ids; 400 naming an id the vocabulary lacks (runs in a thread)."""
        owner = f"{self.kind} {self.name!r}"
        return decode_rows(self.tokenizers["right"], rows, owner, skip_special_tokens)

    def embed(self, batch: dict[str, np.ndarray]) -> np.ndarray:
        """Logits ``(B, 1)`` of a padded batch of pairs, as ``CrossEncoder.predict`` computes them."""
        return np.asarray(self.model.logits_batch(batch), dtype=np.float32)

    def scores(self, logits: np.ndarray, raw: bool = False) -> np.ndarray:
        """``(n,)`` scores of pairs from their logits ``(n, 1)``: the activation's (``predict``'s scores), or
        the logits themselves when ``raw``."""
        return (logits if raw else self.activation(logits))[:, 0].astype(np.float32, copy=False)

    def probabilities(self, logits: np.ndarray, raw: bool = False) -> np.ndarray:
        """``(n, labels)`` scores of ``/predict``: with one label the activation's (as :meth:`scores`), with
        more the softmax of each row (text-embeddings-inference's); the logits when ``raw``."""
        if raw:
            return logits
        if self.dimension == 1:
            return np.asarray(self.activation(logits), dtype=np.float32)
        shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
        return (shifted / shifted.sum(axis=1, keepdims=True)).astype(np.float32)

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
            "labels": self.labels,
            "max_input_length": self.max_length,
            "max_batch_tokens": self.max_batch_tokens,
        }


def label_names(model: Any) -> list[str]:
    """The model's label of each output (its config's ``id2label``), else ``LABEL_i`` as transformers."""
    try:
        id2label = dict(getattr(model.config, "id2label", None) or {})
    except (ImportError, SbertError):  # an ONNX model's config needs torch: the default names then
        id2label = {}
    count = int(model.num_labels)
    return [str(id2label.get(i, id2label.get(str(i), f"LABEL_{i}"))) for i in range(count)]


def predictions(scores: np.ndarray, labels: list[str]) -> list[dict[str, Any]]:
    """``[{"score", "label"}]`` of one input, highest first as text-embeddings-inference sorts them (an
    ascending stable sort, reversed: equal scores come later label first)."""
    order = sorted(range(len(labels)), key=lambda i: float(scores[i]))[::-1]
    return [{"score": float(scores[i]), "label": labels[i]} for i in order]


def ranking(scores: np.ndarray, top_n: int | None = None) -> list[tuple[int, float]]:
    """``[(index, score)]`` best first (ties keep input order, as ``CrossEncoder.rank``), the first
    ``top_n`` only when given."""
    order = sorted(range(len(scores)), key=lambda i: -float(scores[i]))  # sorted() is stable
    return [(i, float(scores[i])) for i in order[:top_n]]
