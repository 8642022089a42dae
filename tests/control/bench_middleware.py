"""Time the control middleware per request: ``python -m tests.control.bench_middleware``.

Each case sends one ASGI HTTP request through the middleware to an app that
responds at once, so the numbers are the middleware's own cost.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from starlette.types import Receive, Scope, Send

from app.control.knobs import SHED_MAX_IN_FLIGHT
from app.control.shedding import LoadShedding
from app.shared_state import SharedState

REQUESTS = 20_000
ROUNDS = 7


async def respond(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b""})


async def ignore(message: object) -> None:
    return None


async def receive() -> dict[str, object]:
    return {"type": "http.request", "body": b"", "more_body": False}


async def per_request_seconds(app: object, path: str) -> float:
    scope = {"type": "http", "path": path, "method": "GET", "headers": []}
    started = time.perf_counter()
    for _ in range(REQUESTS):
        await app(scope, receive, ignore)  # type: ignore[operator]
    return (time.perf_counter() - started) / REQUESTS


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        state = SharedState(Path(folder) / "state")
        state.set(SHED_MAX_IN_FLIGHT, 0)
        shedding = LoadShedding(respond, state)
        cases = {
            "no middleware": (respond, "/api/v1/kunden"),
            "LoadShedding, limit off (admit)": (shedding, "/api/v1/kunden"),
            "LoadShedding, exempt path": (shedding, "/metrics"),
        }
        for name, (app, path) in cases.items():
            report(name, [asyncio.run(per_request_seconds(app, path)) for _ in range(ROUNDS)])

        # Every request is over the limit: a 503 and one counter increment under flock.
        state.set(SHED_MAX_IN_FLIGHT, 1)
        shedding.in_flight = 1
        shed = [asyncio.run(per_request_seconds(shedding, "/api/v1/kunden")) for _ in range(ROUNDS)]
        report("LoadShedding, shed (503)", shed)


def report(name: str, seconds: list[float]) -> None:
    micro = [value * 1e6 for value in seconds]
    print(
        f"{name:34s} median {statistics.median(micro):6.2f} µs/request "
        f"(min {min(micro):.2f}, max {max(micro):.2f}, {ROUNDS} rounds of {REQUESTS})"
    )


if __name__ == "__main__":
    main()
