"""The losses of sparse encoders, as ``sentence_transformers.sparse_encoder.losses`` names them.

    from sbert.sparse_encoder.losses import SparseMultipleNegativesRankingLoss, SpladeLoss

``SpladeLoss`` trains a SPLADE :class:`sbert.SparseEncoder`: it wraps one of the other losses here and adds
the FLOPS regularizers (``FlopsLoss``) that keep the embeddings sparse. A CSR model (Transformer, Pooling,
SparseAutoEncoder) trains with ``CSRLoss``: the auto-encoder's reconstruction (``CSRReconstructionLoss``)
plus one of the other losses here. Train with :class:`sbert.sparse_encoder.SparseEncoderTrainer`.
"""

from __future__ import annotations

from .._losses.sparse.angle import SparseAnglELoss
from .._losses.sparse.cached_splade import CachedSpladeLoss
from .._losses.sparse.cosent import SparseCoSENTLoss
from .._losses.sparse.cosine_similarity import SparseCosineSimilarityLoss
from .._losses.sparse.csr import CSRLoss, CSRReconstructionLoss
from .._losses.sparse.distill_kl import SparseDistillKLDivLoss
from .._losses.sparse.flops import FlopsLoss
from .._losses.sparse.margin_mse import SparseMarginMSELoss
from .._losses.sparse.mse import SparseMSELoss
from .._losses.sparse.multiple_negatives_ranking import SparseMultipleNegativesRankingLoss
from .._losses.sparse.splade import SpladeLoss
from .._losses.sparse.triplet import SparseTripletLoss

__all__ = [
    "CSRLoss",
    "CSRReconstructionLoss",
    "CachedSpladeLoss",
    "FlopsLoss",
    "SparseAnglELoss",
    "SparseCoSENTLoss",
    "SparseCosineSimilarityLoss",
    "SparseDistillKLDivLoss",
    "SparseMSELoss",
    "SparseMarginMSELoss",
    "SparseMultipleNegativesRankingLoss",
    "SparseTripletLoss",
    "SpladeLoss",
]

__path__: list[str] = []  # a package for sentence-transformers' file paths (sbert._module_paths)
