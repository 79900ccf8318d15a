"""sentence-transformers' ``sentence_transformers.util.decorators``: decorators that take the older names of
keyword arguments (and older positional orders) and pass the current ones on, for code that applies them to
its own functions or subclasses, as sentence-transformers applies them to its classes:

    from sbert.util.decorators import cross_encoder_init_args_decorator

    class MyReranker(CrossEncoder):
        @cross_encoder_init_args_decorator
        def __init__(self, model_name_or_path=None, **kwargs):
            super().__init__(model_name_or_path, **kwargs)

    MyReranker("path", automodel_args={...})  # arrives as model_kwargs={...}, logged once

Each older name is logged once per process (a log record, not a Python warning, as there); where both
names are given the current one wins. sbert's own classes take the older names without these (one table,
:mod:`sbert._cross_encoder.st_methods`). No torch import.
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from .._cross_encoder.st_methods import POSITIONAL_INIT_ARGUMENTS, RENAMED_INIT_ARGUMENTS
from .._errors import log_once
from .._st_loggers import ST_DECORATORS

__all__ = [
    "deprecated_kwargs",
    "transformer_kwargs_decorator",
    "cross_encoder_init_args_decorator",
    "cross_encoder_predict_rank_args_decorator",
    "save_to_hub_args_decorator",
]

_LOGGER = logging.getLogger(ST_DECORATORS)  # its argument decorators' notices, as there
F = TypeVar("F", bound=Callable[..., Any])


def _log_once(message: str) -> None:
    """Once per process, on sentence-transformers' argument decorators' logger, as its notices go there."""
    log_once(message, ST_DECORATORS)


# sentence-transformers 6 names the tokenizer's options processor_kwargs; its decorated code expects that
_CROSS_ENCODER_RENAMES = {
    **RENAMED_INIT_ARGUMENTS,
    "tokenizer_args": "processor_kwargs",
    "tokenizer_kwargs": "processor_kwargs",
}
_TRANSFORMER_RENAMES = {
    "model_args": "model_kwargs",
    "tokenizer_args": "processor_kwargs",
    "config_args": "config_kwargs",
}
# the dictionaries a Transformer's older cache_dir= goes into
_CACHE_DIR_TARGETS = ("model_kwargs", "processor_kwargs", "config_kwargs")


def _take_renamed(kwargs: dict[str, Any], renames: dict[str, str], owner: str) -> None:
    for old, new in renames.items():
        if old in kwargs:
            value = kwargs.pop(old)
            _log_once(f"{owner}{old}= is the older name of {new}=; pass {new}= instead.")
            kwargs.setdefault(new, value)


def deprecated_kwargs(**renames: str) -> Callable[[F], F]:
    """A decorator that passes each keyword ``old=`` of ``renames`` (``old="new"``) on as ``new=``."""

    def decorator(function: F) -> F:
        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            _take_renamed(kwargs, renames, "")
            return function(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorator


def transformer_kwargs_decorator(function: F) -> F:
    """For a ``Transformer.__init__``: ``model_args``/``tokenizer_args``/``config_args`` become
    ``model_kwargs``/``processor_kwargs``/``config_kwargs``, and ``cache_dir=`` goes into each of the three
    (where they do not set their own)."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        _take_renamed(kwargs, _TRANSFORMER_RENAMES, "Transformer: ")
        if "cache_dir" in kwargs:
            cache_dir = kwargs.pop("cache_dir")
            if cache_dir is not None:
                _log_once(
                    "Transformer: cache_dir= is the older form of a cache_dir entry in its *_kwargs.",
                )
                for name in _CACHE_DIR_TARGETS:
                    kwargs[name] = {"cache_dir": cache_dir, **(kwargs.get(name) or {})}
        return function(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def cross_encoder_init_args_decorator(function: F) -> F:
    """For a ``CrossEncoder.__init__``: the arguments after the model's name given by position (in
    sentence-transformers 5.3's order) become keywords, each logged; the older keyword names become the
    current ones, and ``classifier_dropout=`` an entry of ``config_kwargs``."""

    @functools.wraps(function)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        for name, value in zip(POSITIONAL_INIT_ARGUMENTS, args[1:]):
            _LOGGER.warning(f"CrossEncoder: pass {name}= as a keyword; passing it by position is deprecated.")
            kwargs.setdefault(name, value)
        _take_renamed(kwargs, _CROSS_ENCODER_RENAMES, "CrossEncoder: ")
        if "classifier_dropout" in kwargs:
            dropout = kwargs.pop("classifier_dropout")
            _LOGGER.warning(
                "CrossEncoder: pass config_kwargs={'classifier_dropout': ...} instead of classifier_dropout=."
            )
            kwargs["config_kwargs"] = {**(kwargs.get("config_kwargs") or {}), "classifier_dropout": dropout}
        return function(self, *args[:1], **kwargs)

    return wrapper  # type: ignore[return-value]


def cross_encoder_predict_rank_args_decorator(function: F) -> F:
    """For ``CrossEncoder.predict`` / ``rank``: ``sentences=`` becomes ``inputs=`` and ``activation_fct=``
    ``activation_fn=``; ``num_workers=`` (and on ``rank`` ``apply_softmax=``) and the ``convert_to_*``
    keywords the method does not declare are dropped, each logged once."""
    method = function.__name__
    declared = inspect.signature(function).parameters
    dropped = [
        "num_workers",
        *(name for name in ("convert_to_numpy", "convert_to_tensor") if name not in declared),
    ]
    if method == "rank":
        dropped.append("apply_softmax")

    @deprecated_kwargs(sentences="inputs", activation_fct="activation_fn")
    @functools.wraps(function)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        for name in dropped:
            if name in kwargs:
                kwargs.pop(name)
                _log_once(f"CrossEncoder.{method}: {name}= changes nothing and is ignored.")
        return function(self, *args, **kwargs)

    return wrapper  # type: ignore[return-value]


def save_to_hub_args_decorator(func: F) -> F:
    """For ``save_to_hub``: ``repo_name=`` becomes ``repo_id=``, and with two or more positional arguments a
    ``None`` is put third, where a ``token`` argument was added to the signature."""

    @functools.wraps(func)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        repo_name = kwargs.pop("repo_name", None)
        if repo_name and "repo_id" not in kwargs:
            _log_once("save_to_hub: repo_name= is the older name of repo_id=; pass repo_id= instead.")
            kwargs["repo_id"] = repo_name
        if len(args) >= 2:
            args = (*args[:2], None, *args[2:])
        return func(self, *args, **kwargs)

    return wrapper
