"""Reverting changes whose time limit ran out, in the background of every worker."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from starlette.types import ASGIApp, Receive, Scope, Send

from app.control.controller import Controller
from app.control.ratelimit import ThrottledWarning

logger = logging.getLogger("leitstand.control")


class ExpiryWatcher:
    """ASGI middleware that checks for expired changes while the app's lifespan runs.

    It hooks the ASGI lifespan itself rather than the app's lifespan function, so
    it works whatever lifespan the app declares. Every worker checks; the
    controller's lock makes sure that one of them reverts each change.
    """

    def __init__(self, app: ASGIApp, controller: Controller, interval: float = 0.5) -> None:
        self.app = app
        self.controller = controller
        self.interval = interval
        self._warn_failure = ThrottledWarning(
            logger, "Reverting expired control changes failed; retrying", interval=60.0
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return

        task = asyncio.create_task(self._watch(), name="leitstand-control-expiry")
        try:
            await self.app(scope, receive, send)
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            if not self.controller.has_due():
                continue
            try:
                # The revert takes a file lock and may call the supervisor: keep it off the loop.
                await asyncio.to_thread(self.controller.expire_due)
            except Exception:
                self._warn_failure(exc_info=True)
