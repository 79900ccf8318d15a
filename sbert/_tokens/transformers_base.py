"""sbert's tokenizer class counts as transformers' ``PreTrainedTokenizerBase`` in ``isinstance``, once
transformers' tokenizer module is imported.

sentence-transformers' ``model.tokenizer`` is a transformers tokenizer, and libraries take it only after an
``isinstance`` check against ``PreTrainedTokenizerBase`` (langchain's
``TextSplitter.from_huggingface_tokenizer``, docling's ``HuggingFaceTokenizer``: "Tokenizer received was not
an instance of PreTrainedTokenizerBase"). That class is no ABC, so registration (as ``sbert._st_registration``
does for the model classes) cannot apply: the tokenizer class gets a base made from it as its last base
instead, as the model classes get torch's (``sbert._torch_base``), when
``transformers.tokenization_utils_base`` is imported (a library that checks has imported it; sbert never
imports it for this). The base adds nothing but the check: sbert's own methods come first in the new order,
plain attribute handling stays, and every name transformers' class would add reads as missing, as before,
rather than running transformers' code on state sbert's tokenizer does not keep."""

from __future__ import annotations

import sys
from typing import Any

from .._import_watch import append_base_once_imported

_MODULE = "transformers.tokenization_utils_base"


def count_as_transformers_tokenizer(cls: type) -> None:
    """Give ``cls`` the transformers-tokenizer base now if transformers' tokenizer module is imported, else
    once it is (a no-op where it has it)."""
    append_base_once_imported(cls, _MODULE, _transformers_base)


class _Missing:
    """A name transformers' class defines that sbert's tokenizer lacks: reading it raises AttributeError (so
    ``hasattr`` stays false), an instance attribute of that name still wins (a non-data descriptor)."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, instance: Any, owner: type | None = None) -> Any:
        holder = owner.__name__ if instance is None else f"{type(instance).__name__!r} object"
        raise AttributeError(f"{holder} has no attribute {self.name!r}")


def _no_attribute(self: Any, name: str) -> Any:
    raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")


def _listed_names(self: Any) -> list[str]:
    """``dir()`` without the names the base hides (code that reads every name ``dir`` lists would fail)."""

    def shown(name: str) -> bool:
        if name in self.__dict__:
            return True
        owner = next((vars(kind) for kind in type(self).__mro__ if name in vars(kind)), {})
        return not isinstance(owner.get(name), _Missing)

    return [name for name in object.__dir__(self) if shown(name)]


def _transformers_base() -> type:
    """The base, made from the imported ``PreTrainedTokenizerBase``."""
    reference = sys.modules[_MODULE].PreTrainedTokenizerBase
    names = {name for kind in reference.__mro__[:-1] for name in vars(kind) if not name.startswith("__")}
    namespace: dict[str, Any] = {name: _Missing() for name in names}
    namespace.update(
        __module__=__name__,
        __doc__="Counts as transformers' PreTrainedTokenizerBase; adds nothing (see the module's text).",
        __getattr__=_no_attribute,  # transformers' answers special-token names from its own tables
        __setattr__=object.__setattr__,
        __delattr__=object.__delattr__,
        __repr__=object.__repr__,
        __dir__=_listed_names,
    )
    return type("TransformersTokenizerBase", (reference,), namespace)
