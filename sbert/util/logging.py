"""sentence-transformers' ``sentence_transformers.util.logging``: ``LoggingHandler`` (log lines printed
through ``tqdm.write``, so they do not break a progress bar) and ``install_logger``.

    import logging
    from sbert.util.logging import LoggingHandler, install_logger
    logging.basicConfig(level=logging.INFO, handlers=[LoggingHandler()])
    install_logger(logging.getLogger("my_script"), level=logging.INFO)
"""

from __future__ import annotations

import logging

from .._progress import LoggingHandler

__all__ = ["LoggingHandler", "install_logger"]

# the level sentence-transformers adds between INFO and WARNING, with a Logger.notice method
NOTICE = 25


def _add_notice_level() -> None:
    logging.addLevelName(NOTICE, "NOTICE")

    def notice(self: logging.Logger, message: object, *args: object, **kwargs: object) -> None:
        if self.isEnabledFor(NOTICE):
            self._log(NOTICE, message, args, **kwargs)  # type: ignore[arg-type]

    logging.Logger.notice = notice  # type: ignore[attr-defined]


def install_logger(
    given_logger: logging.Logger,
    level: int = logging.WARNING,
    fmt: str = "%(levelname)s:%(name)s:%(message)s",
) -> None:
    """Give ``given_logger`` the level ``level`` and a console handler with format ``fmt`` (colored by
    ``coloredlogs`` where it is installed), and add the ``NOTICE`` level (25) with ``logger.notice(...)``."""
    _add_notice_level()
    try:
        import coloredlogs
    except ImportError:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter(fmt))
        given_logger.addHandler(handler)
        given_logger.setLevel(level)
        return
    coloredlogs.install(logger=given_logger, level=level, fmt=fmt, use_chroot=False)
