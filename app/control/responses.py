"""JSON responses sent by the control middleware straight through ASGI, before any route runs."""

from __future__ import annotations

import json

from starlette.types import Send


def json_body(payload: object) -> bytes:
    return json.dumps(payload).encode()


async def send_json(
    send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    """Send a complete response whose ``body`` is encoded JSON."""
    # Fresh message dicts every time: middleware further out may change them in place.
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
