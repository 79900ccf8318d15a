"""sentence-transformers 6's ``sentence_transformers.base.evaluation``: the evaluator base class (its
``BaseEvaluator``, formerly ``SentenceEvaluator``) and ``SequentialEvaluator``."""

from ..evaluation import BaseEvaluator, SentenceEvaluator, SequentialEvaluator

__all__ = ["BaseEvaluator", "SentenceEvaluator", "SequentialEvaluator"]
__path__: list[str] = []  # a package for sentence-transformers' file paths (sbert._module_paths)
