"""Run code once a module is imported, without importing it.

sbert must not import torch or sentence-transformers itself (the base install has neither; importing them
costs seconds), yet some of its classes must change once the user imports them: the model classes
become ``torch.nn.Module`` subclasses with torch (``sbert._torch_base``) and count as sentence-transformers'
classes with sentence-transformers (``sbert._st_registration``). :func:`after_import` runs a callback at
once where the module is imported, else right after the module's own ``__init__`` has run, from a finder
that sits on ``sys.meta_path`` only while a callback waits.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Hashable
from typing import Any

_WATCHES: dict[str, _ImportWatch] = {}
_BASES: dict[Callable[[], type], type] = {}  # make_base -> the base append_base_once_imported made with it
# two threads making objects at once must not both append a base (or both add the watch); re-entered where
# the module is imported by another thread meanwhile
_LOCK = threading.RLock()


def after_import(name: str, key: Hashable, callback: Callable[[], None]) -> None:
    """Call ``callback`` once module ``name`` is imported: now where it is (a module blocked by
    ``sys.modules[name] = None`` counts as not imported), else after its ``__init__`` has run. One callback
    per ``key`` waits (a later one for the same key replaces it)."""
    if sys.modules.get(name) is not None:
        callback()
        return
    watch = _WATCHES.get(name)
    if watch is None:
        watch = _WATCHES[name] = _ImportWatch(name)
    watch.callbacks[key] = callback
    if watch not in sys.meta_path:
        sys.meta_path.insert(0, watch)


def append_base_once_imported(cls: type, module: str, make_base: Callable[[], type]) -> None:
    """Give ``cls`` the base ``make_base()`` makes from ``module`` (made once per ``make_base``, on first
    use) as its last base: now if ``module`` is imported, else once it is; a no-op where it has it. The
    class's own methods stay first in the new order (the model classes' torch base, the tokenizer's and its
    BatchEncoding's transformers bases; one module may give several)."""
    base = _BASES.get(make_base)
    if base is not None and base in cls.__mro__:  # not issubclass: an ABC's caches keep an earlier answer
        return
    with _LOCK:
        if sys.modules.get(module) is None:
            after_import(module, (cls, make_base), lambda: append_base_once_imported(cls, module, make_base))
            return
        base = _BASES.get(make_base) or _BASES.setdefault(make_base, make_base())
        if base not in cls.__mro__:
            cls.__bases__ = (*cls.__bases__, base)


class _ImportWatch:
    """A ``sys.meta_path`` finder that finds nothing of its own: it hands on the spec the other finders give
    for its module, the loader made to run the waiting callbacks after the module's ``__init__``. An import
    that fails leaves it there for the next."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.callbacks: dict[Hashable, Callable[[], None]] = {}

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> Any:
        if name != self.name:
            return None
        others = (finder for finder in sys.meta_path if finder is not self and hasattr(finder, "find_spec"))
        spec = next((found for finder in others if (found := finder.find_spec(name, path, target))), None)
        loader = getattr(spec, "loader", None)
        run = getattr(loader, "exec_module", None)
        if run is None:
            return spec

        def run_then_call_back(module: Any) -> None:
            run(module)
            del loader.exec_module  # the loader's own again
            if self in sys.meta_path:
                sys.meta_path.remove(self)
            waiting = list(self.callbacks.values())
            self.callbacks.clear()
            for callback in waiting:
                callback()

        try:
            loader.exec_module = run_then_call_back
        except (AttributeError, TypeError):  # a loader that takes no attributes: the next call waits again
            pass
        return spec
