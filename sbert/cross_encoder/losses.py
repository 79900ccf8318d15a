"""The losses of cross-encoders, as ``sentence_transformers.cross_encoder.losses`` names them.

from sbert.cross_encoder.losses import BinaryCrossEntropyLoss, LambdaLoss, MultipleNegativesRankingLoss

Each takes the batch's text columns (it forms the pairs itself) and trains a :class:`sbert.CrossEncoder`
with :class:`sbert.cross_encoder.CrossEncoderTrainer`, ``sbert.Trainer`` or ``sbert train`` (recipe
``cross-encoder``).
"""

from __future__ import annotations

from .._losses.cross.base import CrossEncoderLoss
from .._losses.cross.binary_cross_entropy import BinaryCrossEntropyLoss
from .._losses.cross.cross_entropy import CrossEntropyLoss
from .._losses.cross.lambda_loss import (
    BaseWeightingScheme,
    LambdaLoss,
    LambdaRankScheme,
    NDCGLoss1Scheme,
    NDCGLoss2PPScheme,
    NDCGLoss2Scheme,
    NoWeightingScheme,
)
from .._losses.cross.mse import MSELoss
from .._losses.cross.multiple_negatives_ranking import MultipleNegativesRankingLoss

__all__ = [
    "BaseWeightingScheme",
    "BinaryCrossEntropyLoss",
    "CrossEncoderLoss",
    "CrossEntropyLoss",
    "LambdaLoss",
    "LambdaRankScheme",
    "MSELoss",
    "MultipleNegativesRankingLoss",
    "NDCGLoss1Scheme",
    "NDCGLoss2PPScheme",
    "NDCGLoss2Scheme",
    "NoWeightingScheme",
]
