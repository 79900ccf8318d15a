"""sentence-transformers' ``sentence_transformers.similarity_functions`` path:

from sbert.similarity_functions import SimilarityFunction
"""

from ._similarity_function import SimilarityFunction

__all__ = ["SimilarityFunction"]
