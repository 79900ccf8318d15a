"""RankNetLoss: pairwise learning to rank of a query's documents (Burges et al. 2005), LambdaLoss without a
weighting scheme, as sentence-transformers' cross-encoder ``RankNetLoss``."""

from __future__ import annotations

from typing import Any

from ..citations import RANK_NET
from .lambda_loss import LambdaLoss, NoWeightingScheme


class RankNetLoss(LambdaLoss):
    """Pairwise ranking loss on each query's list of documents: every pair of documents whose labels differ
    adds ``log(1 + exp(-sigma * (s_i - s_j)))``, ``i`` the more relevant one, averaged over the pairs. It is
    :class:`LambdaLoss` with every pair weighing 1 (:class:`NoWeightingScheme`); LambdaLoss's default
    NDCG Loss2++ weighting tends to rank better on the same data.

    Args:
        model: the :class:`sbert.CrossEncoder` to train (one output label).
        k: only pairs with a document in the model's top ``k`` count (default: all).
        sigma: sharpness of the pairwise sigmoid.
        eps: floor of the ideal DCG.
        reduction_log: ``"binary"`` (log2, default) or ``"natural"``.
        activation_fn: applied to the logits first (default Identity).
        mini_batch_size: (query, document) pairs per forward call (default: the batch size; ``<= 0``: all
            pairs at once).

    Inputs:

        +----------------------------------------+--------------------------------+
        | Texts                                  | Labels                         |
        +========================================+================================+
        | (query, [doc_1, ..., doc_n])           | [score_1, ..., score_n]        |
        +----------------------------------------+--------------------------------+

    Labels may be binary or graded; lists may differ in length (:func:`sbert.util.mine_hard_negatives` with
    ``output_format="labeled-list"`` writes this form).

    Example::

        from sbert import CrossEncoder, load_dataset
        from sbert.cross_encoder import CrossEncoderTrainer, CrossEncoderTrainingArguments
        from sbert.cross_encoder.losses import RankNetLoss

        model = CrossEncoder("path/to/encoder", num_labels=1)
        train = load_dataset([{"query": "what is a cat?", "docs": ["A cat is a feline.", "Paris."],
                               "labels": [1, 0]}], label="labels")
        args = CrossEncoderTrainingArguments(output_dir="out")
        CrossEncoderTrainer(model, train, RankNetLoss(model), args=args).train()
    """

    citation = RANK_NET

    def __init__(
        self,
        model: Any,
        k: int | None = None,
        sigma: float = 1.0,
        eps: float = 1e-10,
        reduction_log: str = "binary",
        activation_fn: Any = None,
        mini_batch_size: int | None = None,
    ) -> None:
        super().__init__(
            model,
            weighting_scheme=NoWeightingScheme(),
            k=k,
            sigma=sigma,
            eps=eps,
            reduction_log=reduction_log,
            activation_fn=activation_fn,
            mini_batch_size=mini_batch_size,
        )

    def config(self) -> dict[str, Any]:
        config = super().config()
        del config["weighting_scheme"]  # always none
        return config
