"""sentence-transformers' ``SimilarityFunction``: the similarity functions' names, and the util functions
(:mod:`sbert._search.exact`, :mod:`sbert._maxsim`) each name stands for."""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum
from typing import Any

from ._numeric import MULTI_VECTOR_SIMILARITIES, SIMILARITY_FUNCTIONS


class SimilarityFunction(str, Enum):
    """sentence-transformers' names for the similarity functions; each member is its string name."""

    COSINE = "cosine"
    DOT_PRODUCT = "dot"
    DOT = "dot"  # noqa: PIE796 (an alias of DOT_PRODUCT, as in sentence-transformers)
    EUCLIDEAN = "euclidean"
    MANHATTAN = "manhattan"
    MAXSIM = "maxsim"  # late interaction, multi-vector (token) embeddings
    MEAN_MAXSIM = "meanmaxsim"

    def __format__(self, format_spec: str) -> str:
        # Python 3.10 formats a str-mixin member as its value ("cosine"); 3.11+ and sentence-transformers'
        # plain Enum as str(member) ("SimilarityFunction.COSINE"): pinned to the latter on every Python
        return format(str(self), format_spec)

    @staticmethod
    def possible_values() -> list[str]:
        return [*SIMILARITY_FUNCTIONS, *MULTI_VECTOR_SIMILARITIES]

    @staticmethod
    def to_similarity_fn(similarity_function: str) -> Callable[[Any, Any], Any]:
        """The ``(a, b) -> (n, m)`` scores of that name (a tensor, as sentence-transformers'): the util
        function itself (``util.cos_sim``, ...), as there, so its ``__name__`` names it."""
        name = SimilarityFunction(similarity_function).value
        if name in MULTI_VECTOR_SIMILARITIES:
            from . import _maxsim

            return _maxsim.maxsim if name == "maxsim" else _maxsim.mean_maxsim
        from ._search.exact import SCORE_FUNCTIONS

        return SCORE_FUNCTIONS[name]

    @staticmethod
    def to_similarity_pairwise_fn(similarity_function: str) -> Callable[[Any, Any], Any]:
        """The ``(a, b) -> (n,)`` row-by-row scores of that name (``util.pairwise_cos_sim``, ...)."""
        name = SimilarityFunction(similarity_function).value
        if name in MULTI_VECTOR_SIMILARITIES:
            from . import _maxsim

            return _maxsim.maxsim_pairwise if name == "maxsim" else _maxsim.mean_maxsim_pairwise
        from ._search.exact import PAIRWISE_SCORE_FUNCTIONS

        return PAIRWISE_SCORE_FUNCTIONS[name]
