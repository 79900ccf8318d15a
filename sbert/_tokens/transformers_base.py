"""sbert's tokenizer class counts as transformers' ``PreTrainedTokenizerBase`` and
``PreTrainedTokenizerFast``, and its ``BatchEncoding`` as transformers' ``BatchEncoding``, in ``isinstance``,
once transformers' modules that define them are imported.

sentence-transformers' ``model.tokenizer`` is a transformers fast tokenizer, and libraries take it only after
an ``isinstance`` check against ``PreTrainedTokenizerBase`` (langchain's
``TextSplitter.from_huggingface_tokenizer``, docling's ``HuggingFaceTokenizer``: "Tokenizer received was not
an instance of PreTrainedTokenizerBase") or ``PreTrainedTokenizerFast``; what calling it returns is a
transformers ``BatchEncoding`` (transformers' Trainer checks ``isinstance(row, (dict, BatchEncoding))``).
Those classes are no ABCs with ``register`` (``BatchEncoding`` is a ``UserDict``, whose ABC checks
look at the MRO of a class that is no subclass), so registration (as ``sbert._st_registration`` does for the
model classes) cannot apply: each class gets a base made from transformers' class as its last base instead,
as the model classes get torch's (``sbert._torch_base``), when transformers' module is imported (a library
that checks has imported it; sbert never imports it for this). transformers 5 defines the fast class as
``TokenizersBackend`` in ``transformers.tokenization_utils_tokenizers`` (``PreTrainedTokenizerFast`` is its
name there); transformers 4's ``tokenization_utils_fast`` is not watched (in transformers 5 it is an alias
module whose loader is shared by every alias).

A base adds nothing but the check: sbert's own methods come first in the new order (the ``dict`` methods of
sbert's ``BatchEncoding`` too), plain attribute handling, copying and pickling stay, and every name
transformers' class would add reads as missing, as before, rather than running transformers' code on state
sbert's objects do not keep."""

from __future__ import annotations

import sys
from typing import Any

from .._import_watch import append_base_once_imported

_BASE_MODULE = "transformers.tokenization_utils_base"  # PreTrainedTokenizerBase and BatchEncoding
_FAST_MODULE = "transformers.tokenization_utils_tokenizers"  # TokenizersBackend (PreTrainedTokenizerFast)


def count_as_transformers_tokenizer(cls: type) -> None:
    """Give ``cls`` the transformers-tokenizer bases now where transformers' tokenizer modules are imported,
    else once each is (a no-op where it has them)."""
    append_base_once_imported(cls, _BASE_MODULE, _tokenizer_base)
    append_base_once_imported(cls, _FAST_MODULE, _fast_tokenizer_base)


def count_as_transformers_batch_encoding(cls: type) -> None:
    """Give ``cls`` (sbert's ``BatchEncoding``, a ``dict``) the base made from transformers'
    ``BatchEncoding`` now where its module is imported, else once it is."""
    append_base_once_imported(cls, _BASE_MODULE, _batch_encoding_base)


class _Missing:
    """A name transformers' class defines that sbert's lacks: reading it raises AttributeError (so
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


def _hiding_base(module: str, class_name: str, own: dict[str, Any]) -> type:
    """A subclass of ``module.class_name`` whose every public name (and, from ``own``, the special methods
    that would run transformers' code) reads as missing or as ``object``'s."""
    reference = getattr(sys.modules[module], class_name)
    names = {name for kind in reference.__mro__[:-1] for name in vars(kind) if not name.startswith("__")}
    namespace: dict[str, Any] = {name: _Missing() for name in names if not name.startswith("_abc")}
    namespace.update(
        __module__=__name__,
        __doc__=f"Counts as transformers' {class_name}; adds nothing (see the module's text).",
        __repr__=object.__repr__,
        __dir__=_listed_names,
        **own,
    )
    return type(f"Transformers{class_name}", (reference,), namespace)


# The tokenizer bases' attribute handling: object's (transformers' __getattr__ answers special-token names
# from its own tables, its __setattr__ keeps them there).
_PLAIN_ATTRIBUTES = {
    "__getattr__": _no_attribute,
    "__setattr__": object.__setattr__,
    "__delattr__": object.__delattr__,
}


def _tokenizer_base() -> type:
    """The tokenizer's base, made from the imported ``PreTrainedTokenizerBase``."""
    return _hiding_base(_BASE_MODULE, "PreTrainedTokenizerBase", _PLAIN_ATTRIBUTES)


def _fast_tokenizer_base() -> type:
    """The tokenizer's base, made from the imported ``TokenizersBackend`` (``PreTrainedTokenizerFast``)."""
    return _hiding_base(_FAST_MODULE, "TokenizersBackend", _PLAIN_ATTRIBUTES)


def _batch_encoding_base() -> type:
    """The BatchEncoding's base, made from the imported ``BatchEncoding`` (a ``UserDict``): sbert's class is a
    ``dict``, whose methods come before the base's; ``UserDict``'s ``__copy__`` and transformers'
    ``__getstate__`` / ``__setstate__`` (which read its ``data`` and ``_encodings``) are hidden, so copying
    and pickling stay ``dict``'s."""
    getstate = getattr(object, "__getstate__", None) or _Missing()  # object's from Python 3.11
    hidden = {"__copy__": _Missing(), "__setstate__": _Missing(), "__getstate__": getstate}
    return _hiding_base(_BASE_MODULE, "BatchEncoding", hidden)
