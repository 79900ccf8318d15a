"""sentence-transformers 6's name for this module:
``sentence_transformers.sentence_transformer.training_args``."""

import sys

from .. import training_args

sys.modules[__name__] = training_args  # one module under both names: the same objects, one place to change
