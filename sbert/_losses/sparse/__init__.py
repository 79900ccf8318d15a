"""The sparse-encoder loss registry: the losses that train a :class:`sbert.SparseEncoder` (SPLADE, and CSR's
``CSRLoss``).

A SPLADE model trains with :class:`SpladeLoss`, which wraps one of the losses here (the "inner" loss, on the
batch's sparse embeddings) and adds FLOPS regularizers that keep those embeddings sparse. The inner losses
are sbert's embedding losses with sentence-transformers' sparse defaults (a dot-product similarity, an
unscaled softmax); most of them run only inside ``SpladeLoss``, as there. Their names are
sentence-transformers' (``sentence_transformers.sparse_encoder.losses``), and so is their public module,
``sbert.sparse_encoder.losses``.
"""

from __future__ import annotations

from ..._lazy import lazy_names

# class name -> module of this package
SPARSE_LOSSES: dict[str, str] = {
    "SpladeLoss": "splade",
    "CSRLoss": "csr",
    "CSRReconstructionLoss": "csr",
    "CachedSpladeLoss": "cached_splade",
    "FlopsLoss": "flops",
    "SparseMultipleNegativesRankingLoss": "multiple_negatives_ranking",
    "SparseMarginMSELoss": "margin_mse",
    "SparseDistillKLDivLoss": "distill_kl",
    "SparseTripletLoss": "triplet",
    "SparseCosineSimilarityLoss": "cosine_similarity",
    "SparseCoSENTLoss": "cosent",
    "SparseAnglELoss": "angle",
    "SparseMSELoss": "mse",
}

__all__ = sorted(SPARSE_LOSSES)


__getattr__, __dir__ = lazy_names(__name__, globals(), SPARSE_LOSSES)
