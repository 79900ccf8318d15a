"""The multi-vector loss registry: the losses that train a :class:`sbert.MultiVectorEncoder` (late
interaction, ColBERT-style), by sentence-transformers' names (``sentence_transformers.multi_vector_encoder
.losses``; public module ``sbert.multi_vector_encoder.losses``), imported (with torch) when first used.

Each embeds the query column and the candidate columns into token embeddings with their scoring masks
(:mod:`.base`) and scores them with the model's MaxSim or a ``similarity_fct`` of :mod:`.scoring` /
:mod:`.xtr` (public module ``sbert.multi_vector_encoder.scoring``).
"""

from __future__ import annotations

from ..._lazy import lazy_names

# class name -> module of this package
MULTI_VECTOR_LOSSES: dict[str, str] = {
    "MultiVectorMultipleNegativesRankingLoss": "multiple_negatives_ranking",
    "CachedMultiVectorMultipleNegativesRankingLoss": "cached_multiple_negatives_ranking",
    "MultiVectorMarginMSELoss": "margin_mse",
    "MultiVectorDistillKLDivLoss": "distill_kl_div",
    "MultiVectorMatryoshkaLoss": "matryoshka",
    "MultiVectorTokenPoolingLoss": "token_pooling",
}

# function or class name -> module: sentence-transformers' multi_vector_encoder.scoring
SCORING: dict[str, str] = {
    "colbert_scores": "scoring",
    "colbert_scores_pairwise": "scoring",
    "colbert_kd_scores": "scoring",
    "mean_colbert_scores": "scoring",
    "mean_colbert_scores_pairwise": "scoring",
    "mean_colbert_kd_scores": "scoring",
    "XTRScores": "xtr",
    "XTRKDScores": "xtr",
    "xtr_scores": "xtr",
    "xtr_scores_pairwise": "xtr",
    "xtr_kd_scores": "xtr",
}

__all__ = sorted(MULTI_VECTOR_LOSSES)


__getattr__, __dir__ = lazy_names(__name__, globals(), MULTI_VECTOR_LOSSES, SCORING)
