"""sentence-transformers' pre-v4 cross-encoder evaluators (``CECorrelationEvaluator``,
``CEBinaryClassificationEvaluator``, ...), which classic ``CrossEncoder.fit`` scripts import: the current
evaluators under their old names, warning as sentence-transformers 6 does (DeprecationWarning)."""

from __future__ import annotations

import functools
import warnings
from typing import Any

from .reranking import (
    CrossEncoderClassificationEvaluator,
    CrossEncoderCorrelationEvaluator,
    CrossEncoderRerankingEvaluator,
)


def _old_name(name: str, current: type) -> type:
    message = f"{name} is deprecated: use {current.__name__}, which takes about the same inputs."

    @functools.wraps(current.__init__)  # its signature, for scripts that read it
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        warnings.warn(message, DeprecationWarning, stacklevel=2)
        current.__init__(self, *args, **kwargs)

    return type(name, (current,), {"__init__": __init__, "__doc__": message, "__module__": __name__})


CECorrelationEvaluator = _old_name("CECorrelationEvaluator", CrossEncoderCorrelationEvaluator)
CERerankingEvaluator = _old_name("CERerankingEvaluator", CrossEncoderRerankingEvaluator)
CEBinaryClassificationEvaluator = _old_name(
    "CEBinaryClassificationEvaluator", CrossEncoderClassificationEvaluator
)
CEBinaryAccuracyEvaluator = _old_name("CEBinaryAccuracyEvaluator", CrossEncoderClassificationEvaluator)
CEF1Evaluator = _old_name("CEF1Evaluator", CrossEncoderClassificationEvaluator)
CESoftmaxAccuracyEvaluator = _old_name("CESoftmaxAccuracyEvaluator", CrossEncoderClassificationEvaluator)
