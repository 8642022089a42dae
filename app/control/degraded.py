"""Degraded mode: expensive endpoints serve cached results only, or 503, instead of computing."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import HTTPException, Request, status

from app.cache import CacheMissError, caches, lookup_only
from app.control.knobs import DEGRADED
from app.shared_state import SharedState

# Seconds a client should wait before asking again for a result that was not cached.
RETRY_AFTER_SECONDS = 30


def is_degraded(state: SharedState) -> bool:
    """Return whether degraded mode is on (one mmap read)."""
    return state.get(DEGRADED) >= 1


@contextmanager
def degradable(request: Request, cache: str) -> Iterator[None]:
    """Run an endpoint's cached computation, or in degraded mode its cache lookup only.

    In degraded mode a call to a function cached in ``cache`` returns a live
    entry as usual, and a miss raises a 503 ``HTTPException`` instead of
    computing. An app without the control API is never degraded.
    """
    controller = getattr(request.app.state, "control", None)
    if controller is None or not is_degraded(controller.state):
        yield
        return

    detail = (
        f"degraded mode: no cached result in the {cache} cache, and computing is off "
        "until the degraded knob is set back to 0"
    )
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
    if not caches.get(cache).enabled:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail, headers=headers)
    with lookup_only():
        try:
            yield
        except CacheMissError:
            raise HTTPException(
                status.HTTP_503_SERVICE_UNAVAILABLE, detail, headers=headers
            ) from None
