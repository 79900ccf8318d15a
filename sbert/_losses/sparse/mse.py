"""SparseMSELoss: a SPLADE student's embeddings regressed onto a teacher's (distillation)."""

from __future__ import annotations

from typing import Any

from ..mse import MSELoss


class SparseMSELoss(MSELoss):
    """:class:`~sbert.MSELoss` for a :class:`sbert.SparseEncoder`: the mean squared error between the
    student's embeddings and a teacher's (vocabulary-wide vectors of the same tokenizer). Unlike the other
    sparse losses it also trains on its own, as sentence-transformers' does; inside :class:`SpladeLoss` it
    gets the sparsity regularizers too.

    Args:
        model: the :class:`sbert.SparseEncoder` to train.

    Inputs:

        +-----------------------------------------+-----------------------------+
        | Texts                                   | Labels                      |
        +=========================================+=============================+
        | sentence                                | the teacher's embedding     |
        +-----------------------------------------+-----------------------------+
        | sentence_1, sentence_2, ..., sentence_N | the teacher's embeddings    |
        +-----------------------------------------+-----------------------------+

    Example::

        teacher = SparseEncoder("naver/splade-cocondenser-ensembledistil")
        train = Dataset.from_dict({"english": texts, "label": teacher.encode(texts).to_dense().tolist()})
        loss = losses.SpladeLoss(student, loss=losses.SparseMSELoss(student),
                                 document_regularizer_weight=3e-5, use_document_regularizer_only=True)
    """

    def __init__(self, model: Any) -> None:
        super().__init__(model)

    def get_config_dict(self) -> dict[str, Any]:
        """sentence-transformers' record (its MSELoss's projection, which this loss never has)."""
        return {"projection_dim": None}
