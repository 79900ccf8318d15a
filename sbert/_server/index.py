"""The vector index behind ``POST /search``.

``ServedIndex`` is bound at start-up to the served model the index was built with (``VectorIndex.check_model``
decides) and searched with vectors that came through that model's batcher, so queries share batches with
``/embed`` and no second copy of the model exists.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from .._errors import ModelMismatchError
from .engine import ServedModel

log = logging.getLogger("sbert.server")


class ServedIndex:
    """A ``VectorIndex`` searched with query vectors from ``model``, the served model it was built with.

    The index on disk may grow while the server runs (``sbert index add`` writes a new generation and
    removes the old one): a search that finds its files gone reopens the live generation, provided it
    records the same model, and answers from it.
    """

    def __init__(self, index: Any, model: ServedModel) -> None:
        self.index = index
        self.model = model
        self._model_record = index.info["model"]
        self._reload_lock = threading.Lock()

    def warm_up(self) -> None:
        """Load the search structure now, so a corrupt one fails at start-up rather than on a request."""
        if len(self.index):
            self.index.search(self.index.vectors(np.zeros(1, dtype=np.int64)), k=1)

    def search(self, vectors: np.ndarray, k: int) -> list[list[Any]]:
        """The ``k`` best :class:`~sbert.SearchHit` of each query vector ``(q, d)`` (runs in a thread)."""
        index = self.index
        try:
            return index.search(vectors, k=k)  # type: ignore[no-any-return]
        except FileNotFoundError:  # the generation this index was opened on has been replaced
            return self._reopen(index).search(vectors, k=k)  # type: ignore[no-any-return]

    def _reopen(self, stale: Any) -> Any:
        from .._search.index import VectorIndex

        with self._reload_lock:
            if self.index is stale:  # not reopened by another search meanwhile
                fresh = VectorIndex.open(stale.path)
                if fresh.info["model"] != self._model_record or fresh.dimension != stale.dimension:
                    raise RuntimeError(  # a server fault, not the client's: a 500, the details in the log
                        f"the index at {stale.path} was rebuilt with another model while serving; "
                        "restart the server."
                    )
                log.info("index %s changed on disk: now %d texts", stale.path, len(fresh))
                self.index = fresh
            return self.index

    def describe(self) -> dict[str, Any]:
        index, info = self.index, self.index.info
        return {
            "path": str(index.path),
            "size": len(index),
            "model": self.model.name,
            "index_model": index.model_name,
            "dimension": index.dimension,
            "metric": info["metric"],
            "structure": info["spec"]["kind"],
            "precision": info["spec"]["precision"],
        }


def bind_index(index: Any, models: Mapping[str, ServedModel]) -> ServedIndex:
    """``index`` bound to the served model it was built with, as ``VectorIndex.check_model`` judges.

    Models are tried likeliest first (the name the index records, then its dimension), in order among
    equals. When none passes, the error says why the likeliest one failed (``ModelMismatchError``).
    """
    recorded = index.model_name or ""
    ranked = sorted(  # the likeliest first: the same name, then the same dimension
        models.values(),
        key=lambda served: (not _same_model_name(served.name, recorded), served.dimension != index.dimension),
    )
    failures: list[ModelMismatchError] = []
    for served in ranked:
        try:
            index.check_model(served.model)
        except ModelMismatchError as error:
            failures.append(error)
            continue
        bound = ServedIndex(index, served)
        bound.warm_up()
        return bound
    if len(models) == 1:
        raise failures[0]
    names = ", ".join(map(repr, models))
    raise ModelMismatchError(f"none of the served models ({names}) is the index's model: {failures[0]}")


def _same_model_name(served: str, recorded: str) -> bool:
    """``all-MiniLM-L6-v2`` matches ``sentence-transformers/all-MiniLM-L6-v2`` and
    ``/models/all-MiniLM-L6-v2``."""
    return bool(recorded) and (served == recorded or Path(served).name == Path(recorded).name)
