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

import importlib
from typing import Any

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


def __getattr__(name: str) -> Any:
    module = SPARSE_LOSSES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
