"""Distillation with sparse embeddings: sentence-transformers' ``SparseMSEEvaluator``."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from ..._st_loggers import ST_SPARSE_MSE
from ..._st_signature import st_positional
from ..base import as_torch, log_lines
from ..distillation import MSEEvaluator
from .base import SparseEvaluator


@st_positional(
    "source_sentences",
    "target_sentences",
    "teacher_model",
    "show_progress_bar",
    "batch_size",
    "name",
    "write_csv",
    "max_active_dims",
)
class SparseMSEEvaluator(SparseEvaluator, MSEEvaluator):
    """:class:`~sbert.evaluation.MSEEvaluator` for :class:`~sbert.sparse_encoder.SparseEncoder` s: the mean
    squared error ×100 between a sparse teacher's embeddings of ``source_sentences`` and the model's of
    ``target_sentences`` (``negative_mse``, primary), compared as dense vocabulary-wide vectors, plus the
    model's ``active_dims`` and ``sparsity_ratio``. Both are cut to ``max_active_dims`` weights when given
    (else each model's own setting); the teacher embeds its sentences once, when the evaluator is built.

    Example::

        evaluator = SparseMSEEvaluator(english, german, teacher_model=SparseEncoder("./teacher"), name="de")
        evaluator(SparseEncoder("./student"))["de_negative_mse"]
    """

    st_sparse_logger = ST_SPARSE_MSE

    sparse_output = False

    def __init__(
        self,
        source_sentences: Sequence[str],
        target_sentences: Sequence[str],
        teacher_model: Any = None,
        *,
        max_active_dims: int | None = None,
        **options: Any,
    ) -> None:
        self.start_sparse(max_active_dims, options)
        # sentence-transformers' warning, as there: the MSE is computed on dense vocabulary-wide vectors
        log_lines(
            ST_SPARSE_MSE,
            [
                "The SparseMSEEvaluator is not handling the mse compute with sparse tensors yet. "
                "Memory issues may occur."
            ],
            logging.WARNING,
        )
        super().__init__(source_sentences, target_sentences, teacher_model, **options)

    def embed_inputs(self, model: Any, sentences: Sequence[str], **kwargs: Any) -> Any:
        """As the dense evaluator's, as a dense torch tensor, as sentence-transformers' returns it."""
        return as_torch(super().embed_inputs(model, sentences, **kwargs))
