"""sbert's model classes count as sentence-transformers' in ``isinstance``, once sentence-transformers is
imported.

Libraries that take a sentence-transformers model recognise it by ``isinstance`` against its classes (mteb's
``evaluate``: "No model implementation is available for this model" for any other object), so a drop-in
model must pass that check. sentence-transformers' model classes are ABCs, so sbert's are registered as
their virtual subclasses when the first sbert model is made with sentence-transformers imported, or
once it is (``sbert._import_watch``); sbert never imports it. Registration changes nothing of either
class: methods, MRO and ``type(model)`` stay sbert's.
"""

from __future__ import annotations

import sys
from abc import ABCMeta

from ._import_watch import after_import

_REGISTERED: set[type] = set()


def count_as_sentence_transformers(cls: type, name: str) -> None:
    """Register ``cls`` with sentence-transformers' class ``name`` (``"SentenceTransformer"``, ...) now if
    sentence-transformers is imported, else once it is."""
    if cls not in _REGISTERED:
        _REGISTERED.add(cls)
        after_import("sentence_transformers", cls, lambda: _register(cls, name))


def _register(cls: type, name: str) -> None:
    reference = getattr(sys.modules["sentence_transformers"], name, None)
    if isinstance(reference, ABCMeta) and not issubclass(cls, reference):
        reference.register(cls)
