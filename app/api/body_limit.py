"""Reject request bodies larger than a limit with ``413``, before they are read whole.

A pure ASGI middleware. A ``Content-Length`` over the limit is rejected at
once. A chunked body (no ``Content-Length``) is counted while the app reads
it. When the count passes the limit, reading raises ``HTTPException(413)``,
which FastAPI's body parsing passes on unchanged to the app's exception
handling. If nothing has been sent yet when the exception reaches this
middleware, it sends the ``413`` itself.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        content_length = Headers(scope=scope).get("content-length", "")
        if content_length.isdigit() and int(content_length) > self.max_body_bytes:
            await self._reject(scope, receive, send)
            return

        received = 0
        response_started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise HTTPException(413, self._detail())
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except HTTPException as error:
            if error.status_code != 413 or response_started:
                raise
            await self._reject(scope, receive, send)

    def _detail(self) -> str:
        return (
            f"request body larger than {self.max_body_bytes} bytes; "
            "send less (the limit is LEITSTAND_MAX_BODY_BYTES)"
        )

    async def _reject(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = JSONResponse({"detail": self._detail()}, status_code=413)
        await response(scope, receive, send)
