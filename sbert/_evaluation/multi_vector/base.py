"""What every multi-vector evaluator adds to its dense counterpart: texts embedded as one ``(tokens, dim)``
tensor each (a MultiVectorEncoder's ``encode_query`` / ``encode_document``, with the evaluator's
``truncate_dim`` and ``token_pooling``), and scores read from them with MaxSim (``sbert._maxsim``).

sentence-transformers' multi-vector evaluators are subclasses of its dense ones that embed token by token;
here too: ``class MultiVectorTripletEvaluator(MultiVectorEvaluator, TripletEvaluator)`` keeps the triplet
metrics and overrides the four methods through which every evaluator embeds texts and reads embeddings.
Scores come from the torch MaxSim where torch is installed (sentence-transformers' numbers, chunked), else
from the numpy one (a MultiVectorEncoder on ``backend="onnx"`` without torch: numpy embeddings).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..._checks import check_positive_int
from ..._errors import InputError, torch_installed
from ..._maxsim import maxsim_arrays
from ..._numeric import MULTI_VECTOR_SIMILARITIES

SIMILARITY_FN_NAMES = MULTI_VECTOR_SIMILARITIES  # a MultiVectorEncoder's, as sentence-transformers names them


class MultiVectorEvaluator:
    """Mixed in before a dense evaluator: token embeddings in, MaxSim scores out. ``chunk_elements`` bounds
    the scoring intermediate (:func:`sbert.util.maxsim`'s budget); ``token_pooling`` is handed to ``encode``
    (the pooler's ``tasks`` choose which inputs it pools)."""

    token_pooling: Any = None
    chunk_elements: int | None = None

    def start_multi_vector(self, token_pooling: Any = None, chunk_elements: int | None = None) -> None:
        check_positive_int("chunk_elements", chunk_elements, optional=True)
        self.token_pooling, self.chunk_elements = token_pooling, chunk_elements

    def embed_texts(
        self,
        model: Any,
        texts: Sequence[str],
        *,
        role: str | None = None,
        progress: bool = True,
        **options: Any,
    ) -> list[Any]:
        """One ``(tokens_i, dim)`` tensor per text, in order."""
        options.setdefault("truncate_dim", getattr(self, "truncate_dim", None))
        options["token_pooling"] = self.token_pooling
        return list(super().embed_texts(model, texts, role=role, progress=progress, **options))  # type: ignore[misc]

    def read_embeddings(self, embeddings: Any) -> list[Any]:
        """A user's token embeddings (a list, or a padded ``(n, tokens, dim)`` tensor) as one matrix per text:
        their lengths differ, so they are not stacked as the dense evaluators' vectors are."""
        return list(embeddings)

    def take_rows(self, embeddings: Any, rows: Sequence[int]) -> Any:
        if isinstance(embeddings, (list, tuple)):
            return [embeddings[i] for i in rows]
        return embeddings[list(rows)]  # a padded (n, tokens, dim) tensor a caller gave

    def paired_scores(self, a: Any, b: Any, function: str) -> np.ndarray:
        normalize = function == "meanmaxsim"
        if not torch_installed():
            return maxsim_arrays(a, b, length_normalize=normalize, pairwise=True).astype(np.float64)
        from ..._maxsim import maxsim_pairwise

        return maxsim_pairwise(a, b, length_normalize=normalize).cpu().numpy().astype(np.float64)

    def score_matrix(self, a: Any, b: Any, function: str) -> np.ndarray:
        normalize = function == "meanmaxsim"
        if not torch_installed():
            return maxsim_arrays(a, b, length_normalize=normalize)
        from ..._maxsim import maxsim

        return maxsim(a, b, chunk_elements=self.chunk_elements, length_normalize=normalize).cpu().numpy()

    def get_config_dict(self) -> dict[str, Any]:
        return with_token_pooling(super().get_config_dict(), self.token_pooling)  # type: ignore[misc]


def check_similarity_name(value: Any, what: str) -> str | None:
    """A multi-vector similarity's name from a string or a SimilarityFunction member; None stays None."""
    name = getattr(value, "value", value)
    if name is not None and name not in SIMILARITY_FN_NAMES:
        raise InputError(
            f"{what} must be one of {SIMILARITY_FN_NAMES} for a MultiVectorEncoder, got {value!r}: cosine, "
            "dot, euclidean and manhattan score one vector per text."
        )
    return name


def with_token_pooling(config: dict[str, Any], token_pooling: Any) -> dict[str, Any]:
    """An evaluator's settings for the model card, with its token pooler's class and settings when set."""
    return config | ({"token_pooling": pooling_config(token_pooling)} if token_pooling is not None else {})


def pooling_config(token_pooling: Any) -> dict[str, Any]:
    """The pooler's class path and its settings, as sentence-transformers describes it in a card."""
    kind = type(token_pooling)
    config = token_pooling.get_config_dict() if hasattr(token_pooling, "get_config_dict") else {}
    return {"type": f"{kind.__module__}.{kind.__qualname__}", "config": config}


def pooling_name_suffix(token_pooling: Any) -> str:
    """The short label of a pooler in metric names: a hierarchical pooler's setting
    (``pool_factor_2``, ``max_tokens_32``, ``distance_threshold_0.5``), else its class name in snake case."""
    if type(token_pooling).__name__ == "HierarchicalTokenPooling":
        threshold = getattr(token_pooling, "distance_threshold", None)
        max_tokens = getattr(token_pooling, "max_tokens", None)
        if threshold is not None:
            return f"distance_threshold_{threshold}"
        if max_tokens is not None:
            return f"max_tokens_{max_tokens}"
        return f"pool_factor_{token_pooling.pool_factor:g}"
    return re.sub(r"(?<!^)(?=[A-Z])", "_", type(token_pooling).__name__).lower()
