"""Which model built an index: its name, a checksum of its weights and its vectors for fixed probe texts.

An index stores this record when it is built, so opening it with a different model can be refused
instead of silently returning meaningless neighbours.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import numpy as np

from .._numeric import normalize

# Fixed texts whose vectors identify a model: the same model (any backend or precision) reproduces them
# to a cosine above PROBE_MIN_COSINE; a different model does not.
PROBE_TEXTS = (
    "The quick brown fox jumps over the lazy dog.",
    "A man is playing a guitar on the stage.",
    "Stock markets fell sharply after the announcement.",
    "ok",
)
PROBE_MIN_COSINE = 0.99


def probe(model: Any) -> np.ndarray:
    """The model's float32 vectors for :data:`PROBE_TEXTS`."""
    return np.asarray(model.encode(list(PROBE_TEXTS)), dtype=np.float32)


def probe_cosine(expected: np.ndarray, model: Any) -> float:
    """The lowest cosine between ``expected`` probe vectors and the ones ``model`` makes now."""
    return float(np.min(np.sum(normalize(expected) * normalize(probe(model)), axis=1)))


def model_record(model: Any, dimension: int) -> dict[str, Any] | None:
    """What the manifest records about ``model`` (``None`` for an index built from bare vectors)."""
    if model is None:
        return None
    return {"name": name_of(model), "checksum": _model_checksum(model), "dimension": dimension}


def _model_checksum(model: Any) -> str:
    """sha256 of the model folder's weights and configs when it has one, else of its probe vectors."""
    folder = getattr(model, "folder", None)  # a SentenceTransformer has one; FakeEncoder does not
    if folder is not None:
        from .._backends.onnx_export import weights_fingerprint

        return "sha256:" + weights_fingerprint(Path(folder))
    return "probe-sha256:" + hashlib.sha256(np.round(probe(model), 4).tobytes()).hexdigest()


def name_of(model: Any) -> str:
    """The model's name as an index records it: a local folder's absolute path (a relative one would name
    another folder, or none, from another working folder), a hub name as it is, else the class name."""
    name = str(getattr(model, "name_or_path", None) or type(model).__name__)
    return os.path.abspath(os.path.expanduser(name)) if Path(name).expanduser().is_dir() else name


def describe(record: dict[str, Any] | None) -> str:
    """A model record for an error message."""
    if record is None:
        return "(none: built from vectors)"
    return f"{record['name']!r} (checksum {record['checksum'][:23]}...)"
