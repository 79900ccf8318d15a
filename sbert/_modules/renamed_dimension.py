"""sentence-transformers 6's older names of a module's ``get_embedding_dimension``."""

from __future__ import annotations

from typing import Any

from .._errors import warn_renamed

OLDER_NAMES = ("get_sentence_embedding_dimension", "get_word_embedding_dimension")


class RenamedDimensionMethods:
    """Answers both older names on a module whose class defines ``get_embedding_dimension``, with
    sentence-transformers 6.3's FutureWarning at the caller (quiet inside sbert). Through ``__getattr__``, as
    there, so ``hasattr(module, old_name)`` stays False on a module without the new name. Put it before
    ``nn.Module`` in the bases: a missing name is then looked up here first."""

    def __getattr__(self, name: str) -> Any:
        if name in OLDER_NAMES and any("get_embedding_dimension" in vars(cls) for cls in type(self).__mro__):
            warn_renamed(f"The `{name}` method has been renamed to `get_embedding_dimension`.", FutureWarning)
            return self.get_embedding_dimension
        parent = getattr(super(), "__getattr__", None)  # nn.Module's: parameters, buffers, submodules
        if parent is None:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        return parent(name)
