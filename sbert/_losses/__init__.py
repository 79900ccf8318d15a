"""Training losses: each a ``torch.nn.Module`` holding the model, called as ``loss(features_list, labels)``.

``features_list`` holds one tokenized batch per text column (``model.tokenize(texts)``); ``labels`` is a
tensor (class ids, scores or teacher embeddings) or ``None``. Every loss also says which data it takes
(:meth:`Loss.check_data`), so the trainer can refuse bad data before the first step.
"""

from .contrastive import ContrastiveLoss
from .cosent import CoSENTLoss
from .cosine_similarity import CosineSimilarityLoss
from .matryoshka import MatryoshkaLoss
from .mse import MSELoss
from .multiple_negatives_ranking import MultipleNegativesRankingLoss
from .softmax import SoftmaxLoss
from .triplet import TripletLoss

__all__ = [
    "CoSENTLoss",
    "ContrastiveLoss",
    "CosineSimilarityLoss",
    "MSELoss",
    "MatryoshkaLoss",
    "MultipleNegativesRankingLoss",
    "SoftmaxLoss",
    "TripletLoss",
]
