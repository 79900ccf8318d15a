"""sentence-transformers 6's ``sentence_transformers.cross_encoder.modules``: the modules a cross-encoder is
built from, in one place (``LogitScore`` scores a causal language model's next-token logits, for rerankers
such as Qwen3-Reranker):

    from sbert.cross_encoder.modules import LogitScore, Transformer

The same classes as ``sbert.models``'s; a class (and torch) loads on first access.
"""

from __future__ import annotations

from .._lazy import lazy_attributes

# name -> (module, its name there)
_CLASSES = {
    "Dense": ("sbert.models", "Dense"),
    "InputModule": ("sbert.models", "InputModule"),
    "Module": ("sbert.models", "Module"),
    "Asym": ("sbert.models", "Router"),
    "Router": ("sbert.models", "Router"),
    "Transformer": ("sbert.models", "Transformer"),
    "LogitScore": ("sbert._cross_encoder.network", "LogitScore"),
}

__all__ = list(_CLASSES)


__getattr__ = lazy_attributes(__name__, globals(), _CLASSES)

__path__: list[str] = []  # a package for sentence-transformers' file paths (sbert._module_paths)
