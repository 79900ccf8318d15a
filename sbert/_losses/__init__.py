"""The loss registry: every training loss by class name, imported (with torch) only when first used.

Each loss is a ``torch.nn.Module`` holding the model, called as ``loss(sentence_features, labels)``.
``sentence_features`` holds one tokenized batch per text column (``model.tokenize(texts)``); ``labels`` is a
tensor (class ids, scores or teacher embeddings) or ``None``. Every loss also says which data it takes
(:meth:`Loss.check_data`), so the trainer can refuse bad data before the first step.

Adding a loss: its own module here plus one entry in ``LOSSES``. ``sbert`` exports every name of
``LOSSES``, and training configs accept every one that does not wrap another loss. What users pass to losses
or train them with, but which is no loss (sentence-transformers' distance-metric classes, the contrastive
tension data loader, the random-state context of cached losses), is in ``HELPERS``: ``sbert.losses``
exports those too.
"""

from __future__ import annotations

from .._lazy import lazy_names

# class name -> module of this package; the order is the one configs list them in
LOSSES: dict[str, str] = {
    "SoftmaxLoss": "softmax",
    "CosineSimilarityLoss": "cosine_similarity",
    "CoSENTLoss": "cosent",
    "MultipleNegativesRankingLoss": "multiple_negatives_ranking",
    "ContrastiveLoss": "contrastive",
    "TripletLoss": "triplet",
    "MSELoss": "mse",
    "MatryoshkaLoss": "matryoshka",
    "CachedMultipleNegativesRankingLoss": "cached_multiple_negatives_ranking",
    "MultipleNegativesSymmetricRankingLoss": "multiple_negatives_symmetric_ranking",
    "CachedMultipleNegativesSymmetricRankingLoss": "multiple_negatives_symmetric_ranking",
    "GISTEmbedLoss": "gist",
    "CachedGISTEmbedLoss": "gist",
    "MarginMSELoss": "margin_mse",
    "DistillKLDivLoss": "distill_kl",
    "OnlineContrastiveLoss": "online_contrastive",
    "BatchAllTripletLoss": "batch_triplet",
    "BatchHardTripletLoss": "batch_triplet",
    "BatchSemiHardTripletLoss": "batch_triplet",
    "BatchHardSoftMarginTripletLoss": "batch_triplet",
    "AnglELoss": "angle",
    "AdaptiveLayerLoss": "adaptive_layer",
    "Matryoshka2dLoss": "adaptive_layer",
    "MegaBatchMarginLoss": "mega_batch_margin",
    "GlobalOrthogonalRegularizationLoss": "global_orthogonal_regularization",
    "ContrastiveTensionLoss": "contrastive_tension",
    "ContrastiveTensionLossInBatchNegatives": "contrastive_tension",
    "EmbedDistillLoss": "embed_distill",
    "DenoisingAutoEncoderLoss": "denoising_auto_encoder",
}

# name -> module: the objects of sentence-transformers' losses namespace that are not losses
HELPERS: dict[str, str] = {
    "TripletDistanceMetric": "metrics",
    "SiameseDistanceMetric": "metrics",
    "BatchHardTripletLossDistanceFunction": "metrics",
    "ContrastiveTensionDataLoader": "contrastive_tension",
    "RandContext": "grad_cache",  # for custom cached losses; at sentence-transformers' file path too
}

__all__ = sorted([*LOSSES, *HELPERS])


__getattr__, __dir__ = lazy_names(__name__, globals(), LOSSES, HELPERS)
