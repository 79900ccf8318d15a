"""The one place where sbert's own import of torch or transformers, on an install without them (the base
install runs ONNX graphs only), becomes an error that names the ``pip install`` that fixes it.

The names that need torch (the trainers, the losses, the torch modules, ...) are imported lazily from dozens
of public modules, and each private module imports torch at its top; rather than guard every one, a finder
first on ``sys.meta_path`` sees an import of ``torch`` or ``transformers`` that no other finder can satisfy
and, when the importing code is sbert's, raises :class:`MissingExtraError` (a ``ModuleNotFoundError``, so
code that probes ``except ImportError`` is unchanged). Anyone else's import of them fails as Python says it.
It costs nothing once torch is imported (``sys.modules`` answers) and a name comparison for other imports.
"""

from __future__ import annotations

import sys
import threading
from typing import Any

from ._errors import TORCH_PACKAGES, BackendUnavailableError

# sbert's packages whose torch use is training's (and CrossEncoder.fit's module): they name the extra that
# brings its other needs too
_TRAINING_PACKAGES = ("sbert._training", "sbert._losses", "sbert._cross_encoder.fit")


class MissingExtraError(BackendUnavailableError, ModuleNotFoundError):
    """torch or transformers is not installed, and a part of sbert that needs it was used."""


class MissingTorchFinder:
    """Finds nothing itself; refuses sbert's imports of a torch-extra package that no other finder finds."""

    def __init__(self) -> None:
        self._searching = threading.local()  # asking the other finders, which may ask this one again

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        if path is not None or name not in TORCH_PACKAGES:  # only ``import torch`` / ``import transformers``
            return None
        if getattr(self._searching, "active", False):
            return None
        importer = _importing_module()
        if not importer.startswith("sbert"):
            return None
        self._searching.active = True
        try:
            if _found_elsewhere(self, name):
                return None
        finally:
            self._searching.active = False
        extra = "train" if importer.startswith(_TRAINING_PACKAGES) else "torch"
        raise MissingExtraError(
            f"{name} is not installed, and this part of sbert ({importer}) needs it: the base install runs "
            f"ONNX graphs only. Install it with: pip install 'sbert[{extra}]'",
            name=name,
        )


def _found_elsewhere(finder: MissingTorchFinder, name: str) -> bool:
    """Whether a finder after ``finder`` finds ``name`` (one that refuses it, as a test's blocker, counts as
    not finding it)."""
    for other in sys.meta_path:
        if other is finder or not hasattr(other, "find_spec"):
            continue
        try:
            if other.find_spec(name, None) is not None:
                return True
        except ImportError:
            return False
    return False


def _importing_module() -> str:
    """The module whose code runs the import: the first frame outside the import machinery beyond the
    outermost finder's ``find_spec`` (another finder handing the import on calls this one from its own);
    "" for a probe by ``importlib.util.find_spec``, which the other finders answer as without this one."""
    import inspect  # only when torch or transformers is imported

    frames, frame = [], inspect.currentframe()
    while frame is not None:
        frames.append(frame)
        frame = frame.f_back
    finders = [i for i, f in enumerate(frames) if f.f_code.co_name == "find_spec"]
    if finders and frames[finders[-1]].f_globals.get("__name__") == "importlib.util":
        return ""  # importlib.util.find_spec asks whether it is there (torch_installed): no import, no error
    for outer in frames[finders[-1] + 1 if finders else 0 :]:
        module = outer.f_globals.get("__name__", "")
        if not module.startswith(("importlib", "_frozen_importlib")):
            return module
    return ""


def install() -> None:
    """Put the finder first on ``sys.meta_path`` (once)."""
    if not any(isinstance(finder, MissingTorchFinder) for finder in sys.meta_path):
        sys.meta_path.insert(0, MissingTorchFinder())
