"""The share of time the generator's event loop spent running code rather than polling.

A generator that is never idle in its event loop is the bottleneck of the run,
whatever its CPU share (on a busy machine a starved process shows little CPU).
libev runs prepare watchers right before it polls for I/O and check watchers
right after it, so the time between the two is time spent blocked in the poll:
idle time.
"""

from __future__ import annotations

import time
from typing import Any

# libev priorities run from -2 to 2 and pending watchers run highest first. The
# prepare watcher runs last before the poll and the check watcher first after it,
# so gevent's own callbacks and I/O handlers fall outside the idle span.
_LOWEST_PRIORITY = -2
_HIGHEST_PRIORITY = 2


class LoopBusyMeter:
    """Accumulate the idle time of a gevent (libev) loop between ``start()`` and ``stop()``."""

    def __init__(self, loop: Any) -> None:
        self._loop = loop
        self._poll_started: float | None = None
        self.idle_s = 0.0
        self._started_at = 0.0
        self._stopped_at: float | None = None
        self._prepare = loop.prepare()
        self._prepare.priority = _LOWEST_PRIORITY
        self._check = loop.check()
        self._check.priority = _HIGHEST_PRIORITY

    def _before_poll(self) -> None:
        self._poll_started = time.perf_counter()

    def _after_poll(self) -> None:
        if self._poll_started is not None:
            self.idle_s += time.perf_counter() - self._poll_started
            self._poll_started = None

    def start(self) -> None:
        self.idle_s = 0.0
        self._started_at = time.perf_counter()
        self._stopped_at = None
        self._prepare.start(self._before_poll)
        self._check.start(self._after_poll)

    def stop(self) -> None:
        self._prepare.stop()
        self._check.stop()
        self._stopped_at = time.perf_counter()

    @property
    def busy_ratio(self) -> float:
        """Share of the measured span the loop spent running code rather than polling."""
        end = self._stopped_at if self._stopped_at is not None else time.perf_counter()
        span = end - self._started_at
        if span <= 0:
            return 0.0
        return max(0.0, 1.0 - self.idle_s / span)
