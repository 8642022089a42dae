"""A minimal HTTP target for checking the benchmark tool itself.

A raw ASGI app (no framework, so the server costs as little as possible) with
routes of known latency. Run it with uvicorn, e.g.
``uvicorn leitstand.bench.target:app --loop uvloop --port 8900``.

Routes:

- ``/health`` and ``/fixed``: a fixed response at once;
- ``/delay/{microseconds}``: responds after that long. Below 2 ms the worker
  spins, so that sub-millisecond latencies are exact, and above it sleeps;
- ``/jitter/{low_ms}/{high_ms}``: sleeps a uniformly random time in the range;
- ``/count``: JSON with the number of requests served per path so far.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

# Below this a sleep on the event loop is too coarse; the worker spins instead.
_SPIN_BELOW_S = 0.002

_served: Counter[str] = Counter()


async def _respond(send: Send, status: int, body: bytes, content_type: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", content_type), (b"content-length", b"%d" % len(body))],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def _wait(seconds: float) -> None:
    if seconds < _SPIN_BELOW_S:
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            pass
    else:
        await asyncio.sleep(seconds)


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "http":
        return

    path: str = scope["path"]
    parts = path.strip("/").split("/")
    if path == "/count":
        await _respond(send, 200, json.dumps(dict(_served)).encode(), b"application/json")
        return
    _served[path] += 1

    try:
        if parts[0] in {"health", "fixed"} and len(parts) == 1:
            pass
        elif parts[0] == "delay" and len(parts) == 2:
            await _wait(int(parts[1]) / 1_000_000)
        elif parts[0] == "jitter" and len(parts) == 3:
            await _wait(random.uniform(float(parts[1]), float(parts[2])) / 1000)
        else:
            await _respond(send, 404, b"not found", b"text/plain")
            return
    except ValueError:
        await _respond(send, 400, b"invalid number in path", b"text/plain")
        return
    await _respond(send, 200, b"ok", b"text/plain")
