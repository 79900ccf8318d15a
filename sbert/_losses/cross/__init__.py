"""The cross-encoder loss registry: losses that score (query, document) pairs with a CrossEncoder.

A cross-encoder loss takes the batch's text columns themselves (``loss(texts_list, labels)``), since it
forms the pairs (and draws in-batch negatives) before tokenizing, as sentence-transformers' cross-encoder
losses do; the trainer passes them texts instead of tokenized columns (``CrossEncoderLoss.takes_texts``).
Their names overlap the bi-encoder losses' (``MSELoss``, ``MultipleNegativesRankingLoss``), so they have
their own registry and public module, ``sbert.cross_encoder.losses``.
"""

from __future__ import annotations

from ..._lazy import lazy_names

# class name -> module of this package; the order is the one configs list them in
CROSS_LOSSES: dict[str, str] = {
    "BinaryCrossEntropyLoss": "binary_cross_entropy",
    "CrossEntropyLoss": "cross_entropy",
    "MSELoss": "mse",
    "MultipleNegativesRankingLoss": "multiple_negatives_ranking",
    "LambdaLoss": "lambda_loss",
    "RankNetLoss": "rank_net",
    "ListNetLoss": "list_net",
    "ListMLELoss": "plist_mle",
    "PListMLELoss": "plist_mle",
    "ADRMSELoss": "adr_mse",
    "MarginMSELoss": "margin_mse",
    "CachedMultipleNegativesRankingLoss": "cached_multiple_negatives_ranking",
}
# the short names of ``sbert train cross-encoder --loss``
SHORT_NAMES = {
    "bce": "BinaryCrossEntropyLoss",
    "ce": "CrossEntropyLoss",
    "mse": "MSELoss",
    "mnrl": "MultipleNegativesRankingLoss",
    "lambda": "LambdaLoss",
}
# objects that are not losses, by the module they live in: LambdaLoss's weighting schemes, PListMLE's weight
HELPERS: dict[str, str] = {
    "NoWeightingScheme": "lambda_loss",
    "NDCGLoss1Scheme": "lambda_loss",
    "NDCGLoss2Scheme": "lambda_loss",
    "LambdaRankScheme": "lambda_loss",
    "NDCGLoss2PPScheme": "lambda_loss",
    "PListMLELambdaWeight": "plist_mle",
}

__all__ = sorted([*CROSS_LOSSES, *HELPERS])


__getattr__, __dir__ = lazy_names(__name__, globals(), CROSS_LOSSES, HELPERS)
