"""sentence-transformers 6's module of the bi-encoder (``sentence_transformers.sentence_transformer.model``):

from sbert.sentence_transformer.model import SentenceTransformer
"""

from .._model import SentenceTransformer

__all__ = ["SentenceTransformer"]
