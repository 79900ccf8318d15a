"""sentence-transformers 6's name for this module:
``sentence_transformers.sentence_transformer.datasets``."""

import sys

from .. import datasets

sys.modules[__name__] = datasets  # one module under both names: the same objects, one place to change
