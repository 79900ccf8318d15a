"""The losses of cross-encoders, as ``sentence_transformers.cross_encoder.losses`` names them.

from sbert.cross_encoder.losses import BinaryCrossEntropyLoss, LambdaLoss, MultipleNegativesRankingLoss

Each takes the batch's text columns (it forms the pairs itself) and trains a :class:`sbert.CrossEncoder`
with :class:`sbert.cross_encoder.CrossEncoderTrainer`, ``sbert.Trainer`` or ``sbert train`` (recipe
``cross-encoder``).
"""

from __future__ import annotations

from .._losses.cross.adr_mse import ADRMSELoss
from .._losses.cross.base import CrossEncoderLoss
from .._losses.cross.binary_cross_entropy import BinaryCrossEntropyLoss
from .._losses.cross.cached_multiple_negatives_ranking import CachedMultipleNegativesRankingLoss
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
from .._losses.cross.list_net import ListNetLoss
from .._losses.cross.listwise import ListwiseLoss
from .._losses.cross.margin_mse import MarginMSELoss
from .._losses.cross.mse import MSELoss
from .._losses.cross.multiple_negatives_ranking import MultipleNegativesRankingLoss
from .._losses.cross.plist_mle import ListMLELoss, PListMLELambdaWeight, PListMLELoss
from .._losses.cross.rank_net import RankNetLoss

__all__ = [
    "ADRMSELoss",
    "BaseWeightingScheme",
    "BinaryCrossEntropyLoss",
    "CachedMultipleNegativesRankingLoss",
    "CrossEncoderLoss",
    "CrossEntropyLoss",
    "LambdaLoss",
    "LambdaRankScheme",
    "ListMLELoss",
    "ListNetLoss",
    "ListwiseLoss",
    "MSELoss",
    "MarginMSELoss",
    "MultipleNegativesRankingLoss",
    "NDCGLoss1Scheme",
    "NDCGLoss2PPScheme",
    "NDCGLoss2Scheme",
    "NoWeightingScheme",
    "PListMLELambdaWeight",
    "PListMLELoss",
    "RankNetLoss",
]

__path__: list[str] = []  # a package for sentence-transformers' class paths (sbert._module_paths)
