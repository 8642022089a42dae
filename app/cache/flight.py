"""Single flight: concurrent misses of one key compute the value once.

The first caller of a key (the leader) computes, and callers that arrive
while it runs (followers) wait for its result. Threads wait with
``Future.result()`` and tasks with ``asyncio.wrap_future``, so one flight
serves threads and the tasks of any event loop. A failure reaches the leader
and every follower and is never stored. When the leader stops without a
result (its task was cancelled), the followers start over and one of them
leads.
"""

from __future__ import annotations

import threading
from collections.abc import Hashable
from concurrent.futures import Future
from typing import Any


class FlightAbandoned(Exception):
    """The leader of a flight stopped without a result; followers retry."""


class Flights:
    """The computations in progress, by key."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: dict[Hashable, Future[Any]] = {}

    def join(self, key: Hashable) -> tuple[Future[Any], bool]:
        """Return the flight of ``key`` and whether the caller leads it."""
        with self._lock:
            flight = self._running.get(key)
            if flight is not None:
                return flight, False
            flight = Future()
            # A running future cannot be cancelled, so a follower's cancelled
            # wait (asyncio.wrap_future cancels its source) leaves the flight alone.
            flight.set_running_or_notify_cancel()
            self._running[key] = flight
            return flight, True

    def land(self, key: Hashable, flight: Future[Any], value: Any) -> None:
        """Hand the leader's value to the followers."""
        self._remove(key, flight)
        flight.set_result(value)

    def fail(self, key: Hashable, flight: Future[Any], error: BaseException) -> None:
        """Hand the leader's exception to the followers."""
        self._remove(key, flight)
        flight.set_exception(error)

    def abandon(self, key: Hashable, flight: Future[Any]) -> None:
        """Let the followers retry because the leader stopped without a result."""
        self.fail(key, flight, FlightAbandoned())

    def __len__(self) -> int:
        return len(self._running)

    def reset_after_fork(self) -> None:
        """Forget the flights of the parent process, whose leaders do not run here."""
        self._lock = threading.Lock()
        self._running = {}

    def _remove(self, key: Hashable, flight: Future[Any]) -> None:
        with self._lock:
            if self._running.get(key) is flight:
                del self._running[key]
