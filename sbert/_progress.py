"""Progress bars for long encode and predict calls.

tqdm is imported only when a bar is shown: ``tqdm.auto`` pulls in asyncio and importlib.metadata, about 50 ms
of a short ``sbert encode`` run that shows no bar.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")

# a call shows a bar by default when it spans at least this many batches
PROGRESS_MIN_BATCHES = 8


def wants_progress(count: int, batch_size: int, requested: bool | None) -> bool | None:
    """``show_progress_bar`` as passed; by default (``None``) ``None`` for a long call of ``count`` items (a
    bar where stderr is a terminal) and ``False`` for a short one."""
    if requested is not None:
        return bool(requested)
    return None if count >= PROGRESS_MIN_BATCHES * batch_size else False


class _NoBar:
    """What :func:`progress_bar` returns when no bar is shown: tqdm's context manager and ``update``."""

    def __enter__(self) -> _NoBar:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def update(self, n: int = 1) -> None:
        return None


def progress_bar(total: int, *, desc: str, unit: str, show: bool | None) -> Any:
    """A tqdm bar over ``total`` items: always when ``show`` is True (asked for: shown in logs too, as
    sentence-transformers shows it), where stderr is a terminal when ``None``, never when False."""
    if show is False:
        return _NoBar()
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit=unit, disable=None if show is None else False)


def tracked(
    items: Iterable[T], *, desc: str, show: bool | None, total: int | None = None, leave: bool = True
) -> Iterator[T]:
    """``items`` in order, with a bar over them as ``tqdm(items, desc=desc, total=total, leave=leave)``
    draws it (the loops of sentence-transformers' evaluators); ``show`` as for :func:`progress_bar`."""
    if show is False:
        yield from items
        return
    from tqdm.auto import tqdm

    yield from tqdm(items, desc=desc, total=total, leave=leave, disable=None if show is None else False)


class LoggingHandler(logging.Handler):
    """A logging handler that prints through ``tqdm.write``, so log lines do not break a progress bar
    (sentence-transformers' ``LoggingHandler``: ``logging.basicConfig(handlers=[LoggingHandler()])``)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            from tqdm import tqdm

            tqdm.write(self.format(record))
            self.flush()
        except (KeyboardInterrupt, SystemExit):
            raise
        except Exception:
            self.handleError(record)
