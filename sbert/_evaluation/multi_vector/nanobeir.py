"""Retrieval on several BEIR sets with token embeddings: sentence-transformers'
``MultiVectorNanoBEIREvaluator``, on local BEIR folders as :class:`~sbert.NanoBEIREvaluator` reads them."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from ..._checks import check_positive_int
from ..._st_signature import st_order, st_positional
from ..nanobeir import NanoBEIREvaluator
from .base import pooling_name_suffix, with_token_pooling
from .retrieval import MultiVectorInformationRetrievalEvaluator


@st_positional(*st_order(NanoBEIREvaluator), keywords=("dataset_names",))
class MultiVectorNanoBEIREvaluator(NanoBEIREvaluator):
    """:class:`~sbert.NanoBEIREvaluator` for a :class:`~sbert.MultiVectorEncoder`: one
    :class:`MultiVectorInformationRetrievalEvaluator` per BEIR folder (or hub NanoBEIR set), each set's
    metrics under its name (``NanoMSMARCO_maxsim_ndcg@10``) and their aggregate
    (``NanoBEIR_mean_maxsim_ndcg@10``, primary), as sentence-transformers reports them.

    The names of the sets and of the aggregate end in ``_<truncate_dim>`` and in the token pooler's label
    (``_pool_factor_2``) when those are given, and start with ``<name>_`` given a ``name``; the aggregate's
    CSV is ``[<name>_]NanoBEIR_evaluation_mean[_<truncate_dim>][_<pooling>]_results.csv``, as there.

    Args:
        folders: BEIR folders or hub NanoBEIR set names, as for :class:`~sbert.NanoBEIREvaluator`.
        corpus_chunk_size, chunk_elements, token_pooling: each set's
            :class:`MultiVectorInformationRetrievalEvaluator`'s.
        name: a prefix of the sets' and the aggregate's names and of the aggregate's CSV file.
        options: :class:`~sbert.NanoBEIREvaluator`'s other keywords (``dataset_names``, ``split``,
            ``names``, ``max_queries``, ``max_corpus``, ``batch_size``, the cut-offs, ``aggregate_fn``,
            ``aggregate_key``, ``score_functions``, ``main_score_function``, prompts, ``truncate_dim``,
            ``write_csv``, ``write_predictions``).

    Example::

        from sbert.multi_vector_encoder import MultiVectorEncoder
        from sbert.multi_vector_encoder.evaluation import MultiVectorNanoBEIREvaluator

        evaluator = MultiVectorNanoBEIREvaluator(["data/NanoMSMARCO", "data/NanoNFCorpus"])
        results = evaluator(MultiVectorEncoder("lightonai/GTE-ModernColBERT-v1"))
        results[evaluator.primary_metric]  # NanoBEIR_mean_maxsim_ndcg@10
    """

    information_retrieval_class = MultiVectorInformationRetrievalEvaluator
    main_metric = "maxsim_ndcg@10"

    def __init__(
        self,
        folders: Sequence[str | os.PathLike] | None = None,
        *,
        corpus_chunk_size: int = 5000,
        chunk_elements: int | None = None,
        token_pooling: Any = None,
        name: str = "",
        **options: Any,
    ) -> None:
        check_positive_int("chunk_elements", chunk_elements, optional=True)
        self.set_options = {
            "corpus_chunk_size": corpus_chunk_size,
            "chunk_elements": chunk_elements,
            "token_pooling": token_pooling,
        }
        self.token_pooling, self.prefix = token_pooling, name
        super().__init__(folders, **options)
        self.aggregate_name = self.name
        if name:
            for evaluator in self.evaluators:
                evaluator.name = f"{name}_{evaluator.name}"
            self.names = [evaluator.name for evaluator in self.evaluators]
            self.name = f"{name}_{self.name}"

    def size_options(self, truncate_dim: int | None) -> tuple[str, dict[str, Any]]:
        suffix, options = super().size_options(truncate_dim)
        if self.token_pooling is not None:
            suffix += f"_{pooling_name_suffix(self.token_pooling)}"
        return suffix, {**options, **self.set_options}

    @property
    def default_csv_file(self) -> str:
        prefix = f"{self.prefix}_" if self.prefix else ""
        return f"{prefix}NanoBEIR_evaluation_{self.aggregate_name.removeprefix('NanoBEIR_')}_results.csv"

    def get_config_dict(self) -> dict[str, Any]:
        config = super().get_config_dict() | ({"name": self.prefix} if self.prefix else {})
        return with_token_pooling(config, self.token_pooling)
