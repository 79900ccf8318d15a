"""CSRLoss: the training loss of CSR models (Transformer, Pooling, SparseAutoEncoder), "Beyond Matryoshka"
(arXiv 2503.01776): how well the sparse code rebuilds the dense embedding, plus a ranking loss on the
codes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..._errors import InputError, UnwrappedRegularizerError
from ..base import Features, Loss
from ..citations import CSR
from .inner import WrapsInnerLoss
from .multiple_negatives_ranking import SparseMultipleNegativesRankingLoss

# what the SparseAutoEncoder's training forward hands on, under sentence-transformers' keys
_RECONSTRUCTION_KEYS = (
    "sentence_embedding_backbone",
    "decoded_embedding_k",
    "decoded_embedding_4k",
    "decoded_embedding_aux",
    "decoded_embedding_k_pre_bias",
)


def normalized_mean_squared_error(reconstruction: torch.Tensor, original_input: torch.Tensor) -> torch.Tensor:
    """The mean squared error of ``reconstruction`` ``(B, d)``, divided by the batch's own variance around
    its mean row (plain MSE where that is 0, or where every row equals the first)."""
    mean_row = original_input.mean(dim=0)[None, :].broadcast_to(original_input.shape)
    spread = F.mse_loss(mean_row, original_input)
    spread = torch.where((spread == 0) | (original_input == original_input[:1]).all(), 1.0, spread)
    return F.mse_loss(reconstruction, original_input) / spread


class CSRReconstructionLoss(Loss):
    """The reconstruction part of :class:`CSRLoss`: how far the dense embedding ``f(x)`` is from what the
    SparseAutoEncoder rebuilds of it, averaged over the text columns, in three named parts:

    - ``reconstruction_loss_k``: ``MSE(f(x), decode(top-k code))``;
    - ``reconstruction_loss_4k``: ``MSE(f(x), decode(top-4k code)) / 8``;
    - ``reconstruction_loss_aux``: ``beta`` times the normalized MSE of the dead latents' reconstruction
      against the residual the top-k code leaves (0 without ``k_aux``); it keeps dead latents learning.

    It runs inside :class:`CSRLoss` only: on its own it raises (sentence-transformers' at the first step, with
    NotImplementedError; sbert's when a trainer is made, with an UnwrappedRegularizerError, a
    NotImplementedError too).

    Args:
        model: the :class:`sbert.SparseEncoder` (Transformer, Pooling, SparseAutoEncoder) it trains.
        beta: the weight of the auxiliary part.
    """

    min_columns = 1
    max_columns = None
    loss_components = True

    def __init__(self, model: Any, beta: float = 1.0) -> None:
        super().__init__(model)
        self.beta = beta

    def forward(self, sentence_features: Sequence[Features], labels: torch.Tensor | None = None) -> Any:
        raise _used_alone()

    def check_data(self, n_columns: int, labels: Any, where: str) -> None:
        raise _used_alone()  # before the first step, not at it

    def compute_loss_from_embeddings(  # type: ignore[override]
        self, outputs: list[dict[str, Any]], labels: torch.Tensor | None = None
    ) -> dict[str, torch.Tensor]:
        """The three parts, from each column's model outputs (the SparseAutoEncoder's training features)."""
        k_terms, k4_terms, aux_terms = [], [], []
        for features in outputs:
            _check_features(features)
            x = features["sentence_embedding_backbone"]  # (B, d), the Pooling's output
            k_terms.append(F.mse_loss(x, features["decoded_embedding_k"]))
            k4_terms.append(F.mse_loss(x, features["decoded_embedding_4k"]))
            rebuilt_aux = features["decoded_embedding_aux"]
            if rebuilt_aux is None:  # k_aux=0: no auxiliary latents
                aux_terms.append(torch.zeros_like(k_terms[-1]))
            else:  # the residual the top-k code leaves, without a gradient into that code
                residual = x - features["decoded_embedding_k_pre_bias"].detach()
                aux_terms.append(normalized_mean_squared_error(rebuilt_aux, residual))
        n = len(outputs)
        return {
            "reconstruction_loss_k": sum(k_terms) / n,
            "reconstruction_loss_4k": sum(k4_terms) / n / 8.0,
            "reconstruction_loss_aux": self.beta * (sum(aux_terms) / n),
        }

    def config(self) -> dict[str, Any]:
        return {"beta": self.beta}


class CSRLoss(WrapsInnerLoss, Loss):
    """The loss of CSR training (Contrastive Sparse Representation, "Beyond Matryoshka", Wen et al. 2025):
    :class:`CSRReconstructionLoss` (how well the k-sparse code rebuilds the dense embedding), plus
    ``gamma`` times a loss on the sparse codes (by default :class:`SparseMultipleNegativesRankingLoss`).

    The model is a :class:`sbert.SparseEncoder` of Transformer, Pooling and ``SparseAutoEncoder``; the
    forward runs it on each text column in turn and reads the auto-encoder's training outputs. The trainer
    sums the named parts (``reconstruction_loss_k``, ``reconstruction_loss_4k``, ``reconstruction_loss_aux``,
    then ``base_loss`` or the inner loss's own parts) and logs each one, as sentence-transformers' does.

    Args:
        model: the :class:`sbert.SparseEncoder` to train.
        loss: the loss on the sparse codes, one of :mod:`sbert.sparse_encoder.losses` (not a regularizer or
            a wrapper); default ``SparseMultipleNegativesRankingLoss(model)``.
        beta: the weight of the auxiliary reconstruction part (dead latents).
        gamma: the weight of ``loss``.

    Inputs: those of ``loss``.

    Example::

        from datasets import Dataset
        from sbert.models import Pooling, Transformer
        from sbert.sparse_encoder import SparseEncoder, SparseEncoderTrainer, losses
        from sbert.sparse_encoder.modules import SparseAutoEncoder

        transformer = Transformer("sentence-transformers/all-MiniLM-L6-v2")
        pooling = Pooling(384, "mean")
        model = SparseEncoder(modules=[transformer, pooling, SparseAutoEncoder(384, hidden_dim=1536, k=32)])
        train = Dataset.from_dict({"anchor": ["It's sunny."], "positive": ["The weather is nice."]})
        loss = losses.CSRLoss(model, beta=0.1, gamma=1.0)
        SparseEncoderTrainer(model=model, train_dataset=train, loss=loss).train()

    References:
        Beyond Matryoshka: Revisiting Sparse Coding for Adaptive Representation,
        https://arxiv.org/abs/2503.01776
    """

    min_columns = 1
    max_columns = None
    wraps_loss = True
    loss_components = True

    def __init__(
        self, model: Any, loss: nn.Module | None = None, beta: float = 0.1, gamma: float = 1.0
    ) -> None:
        super().__init__(model)
        if loss is not None:
            _check_inner(loss)
        self.beta, self.gamma = beta, gamma
        self.reconstruction_loss = CSRReconstructionLoss(model, beta=beta)
        self.loss = loss if loss is not None else SparseMultipleNegativesRankingLoss(model)

    def forward(  # type: ignore[override]
        self, sentence_features: Sequence[Features], labels: torch.Tensor | None = None
    ) -> dict[str, torch.Tensor]:
        # one forward per column, in order: the auto-encoder's dead-latent statistics count each one
        outputs = [self.model(features) for features in sentence_features]
        parts = self.reconstruction_loss.compute_loss_from_embeddings(outputs)
        base = self.loss.compute_loss_from_embeddings([out["sentence_embedding"] for out in outputs], labels)
        if isinstance(base, Mapping):
            parts.update({key: value * self.gamma for key, value in base.items()})
        else:
            parts["base_loss"] = base * self.gamma
        return parts

    def config(self) -> dict[str, Any]:
        """sentence-transformers' record of the loss: the weights and the inner loss's class."""
        return {"beta": self.beta, "gamma": self.gamma, "loss": type(self.loss).__name__}

    citation = CSR


def _used_alone() -> UnwrappedRegularizerError:
    return UnwrappedRegularizerError(
        "CSRReconstructionLoss is not intended to be used standalone. Use it within CSRLoss instead, "
        "e.g. CSRLoss(model, beta=0.1, gamma=1.0)."
    )


def _check_inner(loss: Any) -> None:
    """An inner loss computes from the codes alone: not a regularizer, a wrapper or the reconstruction."""
    name = type(loss).__name__
    usable = hasattr(loss, "compute_loss_from_embeddings") and not (
        getattr(loss, "is_regularizer", False)
        or getattr(loss, "wraps_loss", False)
        or isinstance(loss, CSRReconstructionLoss)
    )
    if not usable:
        raise InputError(
            f"CSRLoss cannot use {name} as its loss: it needs a loss on the sparse embeddings with "
            "compute_loss_from_embeddings(embeddings, labels), such as "
            "SparseMultipleNegativesRankingLoss(model) (the default); the reconstruction part is CSRLoss's "
            "own."
        )


def _check_features(features: Any) -> None:
    missing = [key for key in _RECONSTRUCTION_KEYS if key not in features]
    if missing:
        raise InputError(
            f"CSRLoss reads the SparseAutoEncoder's training outputs ({', '.join(missing)}), which this "
            "model's forward did not give: train a SparseEncoder of Transformer, Pooling and "
            "SparseAutoEncoder (a CSR model), with gradients on (not under torch.inference_mode)."
        )
