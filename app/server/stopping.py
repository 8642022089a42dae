"""Stop signals during start-up: SIGINT and SIGTERM end it cleanly, at any step.

Until the supervisor installs its own handlers, a stop signal raises
``StopRequested`` in the main thread, the way SIGINT raises
``KeyboardInterrupt``, so every ``finally`` on the way out runs and the run
folder is removed.

Python drops an exception raised where it cannot propagate (an at-fork
hook, a finalizer), so the handler also records the signal, and
``raise_if_stop_requested`` raises it again at the points where start-up
commits to a long step.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)

_received: list[int] = []


class StopRequested(BaseException):
    """A stop signal that arrived during start-up.

    It derives from ``BaseException``, so an ``except Exception`` lets it pass.
    """

    def __init__(self, signum: int) -> None:
        self.signal_name = signal.Signals(signum).name
        super().__init__(self.signal_name)


@contextmanager
def stop_signals_raise() -> Iterator[None]:
    """Make SIGINT and SIGTERM raise ``StopRequested`` inside the block."""
    _received.clear()
    previous = {signum: signal.getsignal(signum) for signum in STOP_SIGNALS}
    for signum in STOP_SIGNALS:
        signal.signal(signum, _raise_stop)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def raise_if_stop_requested() -> None:
    """Raise ``StopRequested`` if a stop signal arrived inside ``stop_signals_raise``."""
    if _received:
        raise StopRequested(_received[0])


def _raise_stop(signum: int, frame: FrameType | None) -> None:
    _received.append(signum)
    raise StopRequested(signum)
