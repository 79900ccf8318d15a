"""sentence-transformers 6's name for this module (``sentence_transformers.sentence_transformer.readers``)."""

import sys

from .. import readers

sys.modules[__name__] = readers  # one module under both names: the same objects, one place to change
