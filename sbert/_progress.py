"""Progress bars for long encode and predict calls.

tqdm is imported only when a bar is shown: ``tqdm.auto`` pulls in asyncio and importlib.metadata, about 50 ms
of a short ``sbert encode`` run that shows no bar.
"""

from __future__ import annotations

import logging
from typing import Any

# a call shows a bar by default when it spans at least this many batches
PROGRESS_MIN_BATCHES = 8


def wants_progress(count: int, batch_size: int, requested: bool | None) -> bool:
    """``show_progress_bar`` as passed, or (``None``) whether ``count`` items make a long call."""
    return count >= PROGRESS_MIN_BATCHES * batch_size if requested is None else bool(requested)


class _NoBar:
    """What :func:`progress_bar` returns when no bar is shown: tqdm's context manager and ``update``."""

    def __enter__(self) -> _NoBar:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def update(self, n: int = 1) -> None:
        return None


def progress_bar(total: int, *, desc: str, unit: str, show: bool) -> Any:
    """A tqdm bar over ``total`` items when ``show`` (tqdm still hides it off a terminal), else a no-op."""
    if not show:
        return _NoBar()
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit=unit, disable=None)


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
