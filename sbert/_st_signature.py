"""Constructors that take sentence-transformers' positional arguments in its order.

sbert's evaluators and wrappers declare their options keyword-only (or take them through ``**options``
to a base class); scripts written for sentence-transformers pass them by position
(``InformationRetrievalEvaluator(queries, corpus, relevant_docs, 50000, [10], ...)``). ``st_positional``
puts sentence-transformers' positional parameters first, in its order, on the class's ``__init__`` and
maps positional values onto those names; everything else stays keyword-only. Constructors only: no hot
path goes through the wrapper.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

_POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
_VARIADIC = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)


def st_positional(*names: str, keywords: tuple[str, ...] = ()) -> Callable[[type], type]:
    """Class decorator (above ``@dataclass``): ``__init__`` takes ``names`` by position in this order.

    A name the class's own ``__init__`` takes only through ``**options`` is declared with the parameter
    (and default) of the first base class that declares it, and passed on by keyword; ``keywords``: such
    names declared keyword-only."""

    def decorate(cls: type) -> type:
        init = cls.__init__
        signature = inspect.signature(init)
        params = list(signature.parameters.values())
        self_param, own = params[0], {p.name: p for p in params[1:]}
        stray = [p.name for p in params[1:] if p.kind in _POSITIONAL and p.name not in names]
        if stray:  # a positional parameter sentence-transformers lacks would shift its order
            raise TypeError(f"st_positional({cls.__name__}): {stray} are positional but not listed")
        front = []
        for name in names:
            param = own.get(name) or _inherited(cls, name)
            front.append(param.replace(kind=inspect.Parameter.POSITIONAL_OR_KEYWORD))
        declared = [
            (own.get(name) or _inherited(cls, name)).replace(kind=inspect.Parameter.KEYWORD_ONLY)
            for name in keywords
        ]
        rest = declared + [
            p if p.kind is inspect.Parameter.VAR_KEYWORD else p.replace(kind=inspect.Parameter.KEYWORD_ONLY)
            for p in params[1:]
            if p.name not in (*names, *keywords) and p.kind is not inspect.Parameter.VAR_POSITIONAL
        ]
        rest.sort(key=lambda p: p.kind is inspect.Parameter.VAR_KEYWORD)

        @functools.wraps(init)
        def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
            if len(args) > len(names):  # counted with self, as Python counts
                raise TypeError(
                    f"{type(self).__name__}() takes {len(names) + 1} positional arguments but "
                    f"{len(args) + 1} were given"
                )
            for name, value in zip(names, args):
                if name in kwargs:
                    raise TypeError(f"{type(self).__name__}() got multiple values for argument '{name}'")
                kwargs[name] = value
            init(self, **kwargs)

        __init__.__signature__ = signature.replace(parameters=[self_param, *front, *rest])
        del __init__.__wrapped__  # inspect reads __signature__, not the keyword-only original
        cls.__init__ = __init__
        cls._st_positional_names = names  # for subclasses that take the same order (st_order)
        return cls

    return decorate


def st_order(cls: type, *, sparse: bool = False) -> tuple[str, ...]:
    """The positional order :func:`st_positional` gave ``cls``; ``sparse``: as sentence-transformers'
    sparse variant of that evaluator takes it (``max_active_dims`` where the dense one has
    ``truncate_dim``)."""
    names: tuple[str, ...] = cls._st_positional_names  # type: ignore[attr-defined]
    return tuple("max_active_dims" if sparse and n == "truncate_dim" else n for n in names)


def _inherited(cls: type, name: str) -> inspect.Parameter:
    for base in cls.__mro__[1:]:
        init = base.__dict__.get("__init__")
        if init is None:
            continue
        param = inspect.signature(init).parameters.get(name)
        if param is not None and param.kind not in _VARIADIC:
            return param
    raise TypeError(f"st_positional({cls.__name__}): no parameter {name!r} in its __init__ or its bases'")
