"""sentence-transformers' ``util.decorators`` module path: the decorators its CrossEncoder's ``__init__`` and
``predict`` / ``rank`` wear, which take the older argument names in (each logged, as there). sbert's own
CrossEncoder takes those names itself; these are for code that decorates its own methods with them (a
CrossEncoder subclass, a test's stand-in ``__init__``)."""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable
from typing import Any

from .._cross_encoder.st_methods import POSITIONAL_INIT_ARGUMENTS

_LOGGER = logging.getLogger("sbert")
_LOGGED: set[str] = set()

# sentence-transformers 6.3's older CrossEncoder argument names, by the name each now has there
_RENAMED_INIT = {
    "model_name": "model_name_or_path",
    "automodel_args": "model_kwargs",
    "tokenizer_args": "processor_kwargs",
    "tokenizer_kwargs": "processor_kwargs",
    "config_args": "config_kwargs",
    "cache_dir": "cache_folder",
    "default_activation_function": "activation_fn",
}
_RENAMED_PREDICT = {"sentences": "inputs", "activation_fct": "activation_fn"}


def _warn_once(message: str) -> None:
    if message not in _LOGGED:  # transformers' warning_once, which sentence-transformers logs these with
        _LOGGED.add(message)
        _LOGGER.warning(message)


def cross_encoder_init_args_decorator(func: Callable[..., Any]) -> Callable[..., Any]:
    """``__init__(self, model_name_or_path, ...)`` taking sentence-transformers' older names (``model_name``,
    ``automodel_args``, ``tokenizer_args``, ``config_args``, ``cache_dir``, ``default_activation_function``;
    a current name given as well wins), ``classifier_dropout=`` as a ``config_kwargs`` entry, and the
    arguments after the model's name by position in 5.3's order."""

    @functools.wraps(func)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        for name, value in zip(POSITIONAL_INIT_ARGUMENTS, args[1:]):
            _LOGGER.warning(
                f"Passing `{name}` as a positional argument to CrossEncoder is deprecated. "
                f"Please pass `{name}` as a keyword argument instead."
            )
            kwargs.setdefault(name, value)
        for old, new in _RENAMED_INIT.items():
            if old in kwargs:
                value = kwargs.pop(old)
                _warn_once(
                    f"The CrossEncoder `{old}` argument was renamed and is now deprecated. "
                    f"Please use `{new}` instead."
                )
                kwargs.setdefault(new, value)
        if "classifier_dropout" in kwargs:
            dropout = kwargs.pop("classifier_dropout")
            _LOGGER.warning(
                "The CrossEncoder `classifier_dropout` argument is deprecated. Please use "
                f"`config_kwargs={{'classifier_dropout': {dropout}}}` instead."
            )
            kwargs["config_kwargs"] = {**(kwargs.get("config_kwargs") or {}), "classifier_dropout": dropout}
        return func(self, *args[:1], **kwargs)

    return wrapper


def cross_encoder_predict_rank_args_decorator(func: Callable[..., Any]) -> Callable[..., Any]:
    """``predict`` / ``rank`` taking ``sentences=`` (now ``inputs``) and ``activation_fct=`` (now
    ``activation_fn``; a current name given as well wins) and dropping the keywords that no longer do
    anything: ``num_workers``, and on a method without them ``convert_to_numpy`` / ``convert_to_tensor``
    (``rank``, which also drops ``apply_softmax``)."""
    method = func.__name__
    parameters = inspect.signature(func).parameters
    dropped = [name for name in ("convert_to_numpy", "convert_to_tensor") if name not in parameters]

    @functools.wraps(func)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        for old, new in _RENAMED_PREDICT.items():
            if old in kwargs:
                _warn_once(
                    f"The `{old}` argument was renamed and is now deprecated. Please use `{new}` instead."
                )
                value = kwargs.pop(old)
                kwargs.setdefault(new, value)
        if kwargs.pop("num_workers", None) is not None:
            _warn_once(
                f"The CrossEncoder.{method} `num_workers` argument is deprecated and has no effect. "
                "It will be removed in a future version."
            )
        if method == "rank" and "apply_softmax" in kwargs:
            kwargs.pop("apply_softmax")
            _warn_once(
                "The CrossEncoder.rank `apply_softmax` argument is deprecated and has no effect, as `rank` "
                "only supports models with `num_labels=1`. It will be removed in a future version."
            )
        for name in dropped:
            if name in kwargs:
                kwargs.pop(name)
                _warn_once(
                    f"The CrossEncoder.{method} `{name}` argument is deprecated and has no effect, as "
                    f"`{method}` always returns Python floats. It will be removed in a future version."
                )
        return func(self, *args, **kwargs)

    return wrapper


__all__ = ["cross_encoder_init_args_decorator", "cross_encoder_predict_rank_args_decorator"]
