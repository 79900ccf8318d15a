"""Triplets and reranking with token embeddings: sentence-transformers' ``MultiVectorTripletEvaluator`` and
``MultiVectorRerankingEvaluator``."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from ..._st_signature import st_order, st_positional
from ..embedding_reranking import RerankingEvaluator
from ..similarity import TripletEvaluator
from .base import SIMILARITY_FN_NAMES, MultiVectorEvaluator


@st_positional(*st_order(TripletEvaluator))
@dataclass(eq=False, repr=False)
class MultiVectorTripletEvaluator(MultiVectorEvaluator, TripletEvaluator):
    """:class:`~sbert.TripletEvaluator` for a :class:`~sbert.MultiVectorEncoder`: how often
    ``MaxSim(anchor, positive) > MaxSim(anchor, negative) + margin``, anchors embedded as queries and the
    others as documents. Key ``maxsim_accuracy`` (the model's similarity), or ``<function>_accuracy`` for
    each of ``similarity_fn_names`` (``"maxsim"``, ``"meanmaxsim"``) and ``max_accuracy`` over them. A
    ``margin`` dict is keyed by those names: MaxSim grows with the query's length, MeanMaxSim does not.

    ``truncate_dim`` and ``token_pooling`` are handed to ``encode`` (default: the model's).

    Example::

        evaluator = MultiVectorTripletEvaluator(["A man plays guitar."], ["Someone plays music."], ["A cat."])
        evaluator(MultiVectorEncoder("lightonai/GTE-ModernColBERT-v1"))["maxsim_accuracy"]
    """

    batch_size: int = field(default=16, kw_only=True)
    token_pooling: Any = field(default=None, kw_only=True)
    main_metric = "maxsim_accuracy"
    function_names: ClassVar[tuple[str, ...]] = SIMILARITY_FN_NAMES

    def __post_init__(self) -> None:
        self.start_multi_vector(self.token_pooling)
        super().__post_init__()


@st_positional(
    "samples",
    keywords=("at_k", "name", "write_csv", "show_progress_bar", "use_batched_encoding", "truncate_dim"),
)
class MultiVectorRerankingEvaluator(MultiVectorEvaluator, RerankingEvaluator):
    """:class:`~sbert.evaluation.RerankingEvaluator` for a :class:`~sbert.MultiVectorEncoder`: each query's
    positives and negatives ranked by the model's MaxSim (MAP, MRR@k, NDCG@k, primary), queries embedded
    with ``encode_query`` and documents with ``encode_document`` as token tensors.

    Args:
        samples: dicts with ``query``, ``positive`` and ``negative``, as for the dense evaluator.
        similarity_fct: called as sentence-transformers calls it, on the query's ``(tokens, dim)`` tensor (a
            list of that one tensor with ``use_batched_encoding=False``) and the list of its documents';
            default: the model's similarity.
        truncate_dim, token_pooling: handed to ``encode`` (default: the model's).
        options: the dense evaluator's other keywords (``at_k``, ``name``, ``batch_size``, ...).

    Example::

        samples = [{"query": "capital of France", "positive": ["Paris is its capital."],
                    "negative": ["Cats purr.", "Berlin is in Germany."]}]
        MultiVectorRerankingEvaluator(samples, name="dev")(MultiVectorEncoder("./colbert"))["dev_ndcg@10"]
    """

    def __init__(
        self,
        samples: Sequence[Mapping[str, Any]] | Mapping[Any, Mapping[str, Any]],
        *,
        similarity_fct: Callable[[Any, Any], Any] | None = None,
        batch_size: int = 16,
        token_pooling: Any = None,
        **options: Any,
    ) -> None:
        self.start_multi_vector(token_pooling)
        super().__init__(samples, similarity_fct=similarity_fct, batch_size=batch_size, **options)

    def scores(self, model: Any, query: Any, documents: Any) -> np.ndarray:
        """``(n,)`` MaxSim of the query's tokens (a tensor, or a list of that one tensor for a sample
        embedded on its own) with each document's."""
        if self.similarity_fct is None:
            scores = model.similarity(query if isinstance(query, list) else [query], documents)
        else:
            scores = self.similarity_fct(query, documents)
        scores = scores.detach().float().cpu().numpy() if hasattr(scores, "detach") else np.asarray(scores)
        return (scores[0] if scores.ndim > 1 else scores).astype(np.float64)
