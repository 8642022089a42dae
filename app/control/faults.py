"""Fault injection for drills: errors and latency on the routes in ``LEITSTAND_FAULT_ROUTES``.

Errors are injected here, before the handler runs. Latency is injected where the
work happens: a computation calls ``await fault_point()``, which sleeps only
during a request to a fault route. A response served without computing (a cache
hit, or degraded mode serving the last result) skips the latency, so a drill
shows whether the fix really avoids the slow path.
"""

from __future__ import annotations

import asyncio
import random
import re
from collections.abc import Callable
from contextvars import ContextVar

from starlette.routing import compile_path
from starlette.types import ASGIApp, Receive, Scope, Send

from app.control.knobs import FAULT_ERROR_RATIO, FAULT_LATENCY_SECONDS
from app.control.responses import json_body, send_json
from app.shared_state import SharedState

# The latency that fault points add during the current request; 0 outside fault routes.
_latency_seconds: ContextVar[float] = ContextVar("leitstand_fault_latency", default=0.0)


async def fault_point() -> None:
    """Add the drill latency to the computation that awaits this, on fault routes only."""
    seconds = _latency_seconds.get()
    if seconds > 0:
        await asyncio.sleep(seconds)


def parse_routes(text: str) -> list[re.Pattern[str]]:
    """Compile comma-separated route templates such as ``/api/v1/artikel/{artikel_id}``."""
    patterns = []
    for template in text.split(","):
        template = template.strip()
        if not template:
            continue
        if not template.startswith("/"):
            raise ValueError(
                f"invalid route template {template!r} in LEITSTAND_FAULT_ROUTES: "
                "a template starts with '/', such as /api/v1/artikel/{artikel_id}/prognose"
            )
        pattern, _, _ = compile_path(template)
        patterns.append(pattern)
    return patterns


class FaultInjection:
    """ASGI middleware that fails a share of the requests to the fault routes with 500."""

    def __init__(
        self,
        app: ASGIApp,
        state: SharedState,
        routes: str,
        random_number: Callable[[], float] = random.random,
    ) -> None:
        self.app = app
        self.state = state
        self.routes = parse_routes(routes)
        self._random = random_number

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self._is_fault_route(scope["path"]):
            await self.app(scope, receive, send)
            return

        ratio = self.state.get(FAULT_ERROR_RATIO)
        if ratio > 0 and self._random() < ratio:
            detail = f"injected fault: fault.error_ratio is {ratio:g} (a drill; revert the change)"
            await send_json(send, 500, json_body({"detail": detail}))
            return

        token = _latency_seconds.set(self.state.get(FAULT_LATENCY_SECONDS))
        try:
            await self.app(scope, receive, send)
        finally:
            _latency_seconds.reset(token)

    def _is_fault_route(self, path: str) -> bool:
        return any(pattern.match(path) for pattern in self.routes)
