"""The name sentence-transformers 6 uses: ``sentence_transformers.sentence_transformer.evaluation``."""

import sys

from .. import evaluation

sys.modules[__name__] = evaluation  # one module under both names: the same objects, one place to change
