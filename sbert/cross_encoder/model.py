"""sentence-transformers 6's module of the cross-encoder (``sentence_transformers.cross_encoder.model``):

from sbert.cross_encoder.model import CrossEncoder
"""

from .._cross_encoder.model import CrossEncoder

__all__ = ["CrossEncoder"]
