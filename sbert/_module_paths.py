"""sentence-transformers' module-per-class import paths, which it still accepts (its scripts use them):

    from sbert.losses.CoSENTLoss import CoSENTLoss
    from sbert.evaluation.SequentialEvaluator import SequentialEvaluator
    from sbert.cross_encoder.CrossEncoder import CrossEncoder

Such a path names a class of a namespace module; importing it makes a module of that name holding the
class. Two things make that work: each namespace has an (empty) ``__path__``, so the import system treats
it as a package and asks this finder; and it keeps its class when the import system binds the new module
as its attribute of the same name (``ClassKeepingModule``). Nothing here runs unless such a path is imported.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import sys
import types
from typing import Any

# The modules whose classes have such paths (sentence-transformers' namespaces of the same names).
NAMESPACES = frozenset(
    {
        "sbert",
        "sbert.losses",
        "sbert.evaluation",
        "sbert.models",
        "sbert.datasets",
        "sbert.cross_encoder",
        "sbert.cross_encoder.losses",
        "sbert.cross_encoder.evaluation",
    }
)


class ClassModule(types.ModuleType):
    """A module made for one class's path: the class under its own name."""


class ClassKeepingModule(types.ModuleType):
    """A namespace that keeps its class when the import system binds a class's module path to its name."""

    def __setattr__(self, name: str, value: Any) -> None:
        if not isinstance(value, ClassModule):
            super().__setattr__(name, value)


class ClassPathFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds ``<namespace>.<Class>`` for the classes of :data:`NAMESPACES`; other names are not its."""

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        parent, _, name = fullname.rpartition(".")
        namespace = sys.modules.get(parent)
        if parent not in NAMESPACES or namespace is None or not name[:1].isupper():
            return None
        if not isinstance(getattr(namespace, name, None), type):
            return None
        if type(namespace) is types.ModuleType:
            namespace.__class__ = ClassKeepingModule
        return importlib.util.spec_from_loader(fullname, self)

    def create_module(self, spec: Any) -> ClassModule:
        parent, _, name = spec.name.rpartition(".")
        module = ClassModule(spec.name)
        setattr(module, name, getattr(sys.modules[parent], name))
        return module

    def exec_module(self, module: types.ModuleType) -> None:
        pass


def install() -> None:
    """Put the finder last on ``sys.meta_path`` (once): the real files of a namespace come first."""
    if not any(isinstance(finder, ClassPathFinder) for finder in sys.meta_path):
        sys.meta_path.append(ClassPathFinder())
