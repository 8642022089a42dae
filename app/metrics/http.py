"""HTTP request metrics: a pure ASGI middleware on prometheus_client.

The middleware wraps the whole app, outside Starlette's error handling, so it
records the status code the server actually sent: a 500 from an unhandled
exception, a 401 or 503 from another middleware. A request is recorded just
before its last body chunk is sent; background tasks that run after it are
not part of its latency. Samples go through ``SampleBuffer``, which writes
them to the metric values in batches.

NOTE: on a busy host the middleware measured 5 to 23 µs of CPU per request
on ``/health`` where the app had most of its core, and more where it did
not (docs/benchmarks.md, "App metrics"). Whether throughput stays at 0.95
of plain is not settled until a benchmark on an idle host.
"""

from __future__ import annotations

import time

from prometheus_client import Counter, Gauge, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.metrics.buffer import SampleBuffer
from app.metrics.database import QUERIES_PER_REQUEST, QueryCount, request_queries
from app.metrics.routes import RouteTemplates

DURATION_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)

REQUESTS = Counter(
    "http_requests_total",
    "HTTP requests answered, by route template, method and the status code sent.",
    ["handler", "method", "status"],
)
DURATION = Histogram(
    "http_request_duration_seconds",
    "Time from receiving a request to sending the last byte of its response.",
    ["handler", "method"],
    buckets=DURATION_BUCKETS,
)
IN_FLIGHT = Gauge(
    "http_requests_in_flight",
    "HTTP requests received whose response is not complete yet.",
    multiprocess_mode="livesum",
)

# Methods outside this set (scanners send made-up ones) share one label value.
_METHODS = {
    method: method
    for method in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT")
}
OTHER_METHOD = "other"

# One per process: the metric values it writes are per process too.
BUFFER = SampleBuffer(REQUESTS, DURATION, IN_FLIGHT, QUERIES_PER_REQUEST)


class HttpMetricsMiddleware:
    """Count, time and track in-flight HTTP requests by route template."""

    def __init__(self, app: ASGIApp, routes: RouteTemplates) -> None:
        self.app = app
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        started = time.perf_counter()
        queries = QueryCount()
        token = request_queries.set(queries)
        BUFFER.start()
        status = 0
        recorded = False

        async def send_and_record(message: Message) -> None:
            nonlocal status, recorded
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                # Recorded before the client can see the end of the response,
                # so a scrape that follows it counts it.
                recorded = True
                self._record(scope, status, started, queries)
            await send(message)

        try:
            await self.app(scope, receive, send_and_record)
        finally:
            request_queries.reset(token)
            if not recorded:
                # The server sends 500 for an exception before the response
                # started. A response cut short keeps the status it began with.
                self._record(scope, status or 500, started, queries)

    def _record(self, scope: Scope, status: int, started: float, queries: QueryCount) -> None:
        BUFFER.finish(
            self.routes.handler(scope),
            _METHODS.get(scope["method"], OTHER_METHOD),
            status,
            time.perf_counter() - started,
            queries.value,
        )
