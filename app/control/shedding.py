"""Load shedding: past a limit of requests in flight, a worker returns 503 at once."""

from __future__ import annotations

import functools
import logging

from starlette.types import ASGIApp, Receive, Scope, Send

from app.control.knobs import SHED_MAX_IN_FLIGHT
from app.control.metrics import SHED_REQUESTS
from app.control.ratelimit import ThrottledWarning
from app.control.responses import json_body, send_json
from app.shared_state import SharedState

logger = logging.getLogger("leitstand.control")

# Probes, scrapes and the control API itself must get through an overloaded worker.
EXEMPT_PATHS = frozenset({"/health", "/ready", "/metrics", "/control"})
EXEMPT_PREFIXES = ("/control/",)
RETRY_AFTER_SECONDS = 1


class LoadShedding:
    """ASGI middleware that rejects requests over ``shed.max_in_flight`` in this worker.

    The limit is read from the shared state on every request (one mmap read),
    so a change through the control API applies to every worker at once. The
    count is this worker's own: each worker runs one event loop, so a plain
    integer needs no lock.
    """

    def __init__(self, app: ASGIApp, state: SharedState) -> None:
        self.app = app
        self.state = state
        self.in_flight = 0
        self._warn = ThrottledWarning(
            logger, "Shedding load: %d requests in flight reached shed.max_in_flight=%d"
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or _exempt(scope["path"]):
            await self.app(scope, receive, send)
            return

        limit = self.state.get(SHED_MAX_IN_FLIGHT)
        if limit > 0 and self.in_flight >= limit:
            SHED_REQUESTS.inc()
            self._warn(self.in_flight, int(limit))
            await _send_overloaded(send, self.in_flight, int(limit))
            return

        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1


def _exempt(path: str) -> bool:
    return path in EXEMPT_PATHS or path.startswith(EXEMPT_PREFIXES)


async def _send_overloaded(send: Send, in_flight: int, limit: int) -> None:
    retry_after = (b"retry-after", str(RETRY_AFTER_SECONDS).encode())
    await send_json(send, 503, _overloaded_body(in_flight, limit), [retry_after])


@functools.lru_cache(maxsize=64)
def _overloaded_body(in_flight: int, limit: int) -> bytes:
    # Cached: under overload every shed request of a worker has the same numbers.
    detail = (
        f"server overloaded: {in_flight} requests in flight in this worker reached "
        f"the limit of {limit}; retry after {RETRY_AFTER_SECONDS} s"
    )
    return json_body({"detail": detail})
