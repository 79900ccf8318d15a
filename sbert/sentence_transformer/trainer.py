"""sentence-transformers 6's name for this module (``sentence_transformers.sentence_transformer.trainer``)."""

import sys

from .. import trainer

sys.modules[__name__] = trainer  # one module under both names: the same objects, one place to change
