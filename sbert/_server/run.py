"""uvicorn with a graceful drain: on SIGTERM, new requests get 503 while the ones in flight finish.

uvicorn alone stops listening at once on SIGTERM, so clients see refused connections while a load
balancer may still route to the instance. Here the first signal only marks the server as draining (the
gate answers 503, ``/health`` too); uvicorn's shutdown starts when no request is in flight any more, or
after ``graceful_timeout`` seconds. A second signal stops at once.
"""

from __future__ import annotations

import logging
import time
from types import FrameType
from typing import Any

import uvicorn

log = logging.getLogger("sbert.server")


class DrainingServer(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, state: Any, graceful_timeout: float) -> None:
        super().__init__(config)
        self.state = state
        self.graceful_timeout = graceful_timeout
        self._deadline: float | None = None

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self._deadline is None:
            # First signal: drain. Only flags are set here; on_tick (in the event loop) does the rest.
            self._deadline = time.monotonic() + self.graceful_timeout
            self.state.draining = True
            return
        super().handle_exit(sig, frame)

    async def on_tick(self, counter: int) -> bool:
        drained = self.state.in_flight == 0
        if (
            self._deadline is not None
            and not self.should_exit
            and (drained or time.monotonic() >= self._deadline)
        ):
            if not drained:
                log.warning("graceful timeout: stopping with %d requests in flight", self.state.in_flight)
            self.should_exit = True
        return await super().on_tick(counter)


def run_until_drained(app: Any, *, host: str, port: int, graceful_timeout: float, log_level: str) -> None:
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        access_log=False,  # one line per request costs throughput; /metrics counts requests instead
        lifespan="on",
        timeout_graceful_shutdown=max(1, int(graceful_timeout)),
    )
    DrainingServer(config, app.state.sbert, graceful_timeout).run()
