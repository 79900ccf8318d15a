"""sentence-transformers 6's name for this module (``sentence_transformers.sentence_transformer.losses``)."""

import sys

from .. import losses

sys.modules[__name__] = losses  # one module under both names: the same objects, one place to change
