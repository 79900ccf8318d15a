"""sentence-transformers 5's name for ``sbert.sparse_encoder.modules``
(``sentence_transformers.sparse_encoder.models``)."""

import sys

from . import modules

sys.modules[__name__] = modules  # one module under both names: the same objects, one place to change
