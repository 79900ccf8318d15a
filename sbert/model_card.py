"""sentence-transformers' ``sentence_transformers.model_card`` path:

from sbert.model_card import SentenceTransformerModelCardData
"""

from ._format.card_data import SentenceTransformerModelCardData

__all__ = ["SentenceTransformerModelCardData"]
