"""Warnings that may repeat on every request, logged at most once per interval."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable


class ThrottledWarning:
    """Log a repeating warning once per ``interval`` seconds, with how often it happened since."""

    def __init__(
        self,
        logger: logging.Logger,
        message: str,
        interval: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._logger = logger
        self._clock = clock
        self._message = message
        self._interval = interval
        self._next_at = 0.0
        self._suppressed = 0

    def __call__(self, *args: object, exc_info: bool = False) -> None:
        now = self._clock()
        if now < self._next_at:
            self._suppressed += 1
            return
        self._logger.warning(
            self._message + " (%d more like this in the last %.0f s)",
            *args,
            self._suppressed,
            self._interval,
            exc_info=exc_info,
        )
        self._suppressed = 0
        self._next_at = now + self._interval
