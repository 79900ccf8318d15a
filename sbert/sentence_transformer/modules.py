"""sentence-transformers 6's name for this module (``sentence_transformers.sentence_transformer.modules``)."""

import sys

from .. import models

sys.modules[__name__] = models  # one module under both names: the same objects, one place to change
