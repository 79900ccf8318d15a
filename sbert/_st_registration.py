"""sbert's model classes count as sentence-transformers' in ``isinstance``, once sentence-transformers is
imported.

Libraries that take a sentence-transformers model recognise it by ``isinstance`` against its classes (mteb's
``evaluate``: "No model implementation is available for this model" for any other object), so a drop-in
model must pass that check. sentence-transformers' model classes are ABCs, so sbert's are registered as
their virtual subclasses when the first sbert model is made with sentence-transformers imported, or
once it is (``sbert._import_watch``); sbert never imports it. Registration changes nothing of either
class: methods, MRO and ``type(model)`` stay sbert's. sbert's module classes (``Transformer``, ``Pooling``,
``Module``, ...) count as sentence-transformers' of the same name likewise (mlflow reads a model's details
after ``isinstance(model[0], models.Transformer)``).
"""

from __future__ import annotations

import importlib
import sys
import warnings
from abc import ABCMeta

from ._import_watch import after_import

_REGISTERED: set[type] = set()
_PENDING_MODULES: set[type] = set()  # sbert's module classes not yet registered
# sentence-transformers' packages of module classes: 6.x's, then the one package of 5.x and older.
_MODULE_PACKAGES = (
    "sentence_transformer.modules",
    "sparse_encoder.modules",
    "multi_vector_encoder.modules",
    "cross_encoder.modules",
    "models",
    "sparse_encoder.models",
)


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


def count_module_as_sentence_transformers(cls: type) -> None:
    """Note sbert's module class ``cls`` for registration with sentence-transformers' module class of the same
    name, done by :func:`register_module_classes` (not while classes are being defined: registering checks
    the class, which may need names its file has not defined yet). A class without such a namesake stays as
    it is; a user's subclass inherits its base's registration."""
    if cls.__module__.startswith("sbert."):
        _PENDING_MODULES.add(cls)


def register_module_classes() -> None:
    """Register the noted module classes now if sentence-transformers is imported, else once it is."""
    if _PENDING_MODULES:
        after_import("sentence_transformers", "module classes", _register_modules)


def _register_modules() -> None:
    if getattr(sys.modules["sentence_transformers"], "__name__", None) != "sentence_transformers":
        return  # sbert standing in under that name (``sys.modules`` alias): its classes are sbert's own
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # 6.x warns on the older ``models`` path
        namespaces = [_imported(f"sentence_transformers.{package}") for package in _MODULE_PACKAGES]
    for cls in list(_PENDING_MODULES):
        _PENDING_MODULES.discard(cls)
        reference = next((vars(ns)[cls.__name__] for ns in namespaces if cls.__name__ in vars(ns)), None)
        if isinstance(reference, ABCMeta) and not issubclass(cls, reference):
            reference.register(cls)


def _imported(name: str) -> object:
    try:
        return importlib.import_module(name)
    except ImportError:  # a package of another release
        return object()
