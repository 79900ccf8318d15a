"""sentence-transformers 6's name for this module:
``sentence_transformers.sentence_transformer.model_card``."""

import sys

from .. import model_card

sys.modules[__name__] = model_card  # one module under both names: the same objects, one place to change
