"""The ``X-Leitstand-Worker-Pid`` response header, for tests that reach every worker."""

from __future__ import annotations

import os

from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEADER = b"x-leitstand-worker-pid"


class WorkerPidHeader:
    """Add the pid of the answering worker to every HTTP response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        # Built in the worker after the fork, so the pid is the worker's own.
        self._header = (HEADER, str(os.getpid()).encode())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_pid(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), self._header]
            await send(message)

        await self.app(scope, receive, send_with_pid)
