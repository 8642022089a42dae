"""Cached HTTP responses of the ERP reads, served before routing.

Caching a service function's result leaves FastAPI's work on every request:
parsing and validating the query parameters, resolving the dependencies, and
validating and encoding the response. For a cached list page that is most of
the request's time. This middleware stores the encoded response of a
successful GET under its path and sorted query parameters, in the named cache
of the data the response shows. Both kinds of entries live in the
same named caches, so the invalidation after a write drops both.

The middleware belongs inside the metrics, shedding and fault middleware, so
that a response served from the cache is still counted, shed and faulted like
any other: ``create_app`` adds it before any other middleware.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from operator import itemgetter
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.cache.backend import MISSING
from app.cache.region import Cache
from app.cache.registry import CacheRegistry, caches

# Paths whose GET responses are cached, each with the named cache of its data.
# The first pattern that matches the whole path wins.
RESPONSE_ROUTES: tuple[tuple[str, str], ...] = (
    (r"/api/v1/artikel/[^/]+/prognose", "prognose"),
    (r"/api/v1/artikel(/[^/]+)?", "artikel"),
    (r"/api/v1/kunden(/[^/]+)?", "kunden"),
    (r"/api/v1/auftraege(/[^/]+)?", "auftraege"),
    (r"/api/v1/rechnungen(/[^/]+)?", "rechnungen"),
    (r"/api/v1/lager(/[^/]+)?", "lager"),
)


@dataclass(frozen=True, slots=True)
class CachedResponse:
    """A complete response: status, raw headers and body."""

    status: int
    headers: tuple[tuple[bytes, bytes], ...]
    body: bytes


class ResponseCache:
    """ASGI middleware: serve repeated GETs of cached routes from the named caches.

    Only ``200`` responses whose body arrived in full are stored. A hit is
    counted here. A miss is not, because the cached service function behind
    the route counts the outcome of its own lookup.
    """

    def __init__(
        self,
        app: ASGIApp,
        registry: CacheRegistry = caches,
        routes: tuple[tuple[str, str], ...] = RESPONSE_ROUTES,
    ) -> None:
        self.app = app
        self._registry = registry
        self._routes = [(re.compile(pattern), name) for pattern, name in routes]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        cache = self._cache_for(scope["path"])
        if cache is None or not cache.enabled:
            await self.app(scope, receive, send)
            return

        key = ("http", scope["path"], _query(scope["query_string"]))
        cached = cache.lookup(key, count_miss=False)
        if cached is not MISSING:
            # A new list each time: outer middleware may append headers to it.
            start = {"type": "http.response.start", "status": cached.status}
            await send(start | {"headers": list(cached.headers)})
            await send({"type": "http.response.body", "body": cached.body})
            return

        # Read before the app runs: a write during the request makes its
        # response uncacheable (see CacheBackend.set).
        generation = cache.generation()
        status = 0
        headers: tuple[tuple[bytes, bytes], ...] = ()
        chunks: list[bytes] = []
        complete = False

        async def capture(message: Message) -> None:
            nonlocal status, headers, complete
            if message["type"] == "http.response.start":
                # Copied before it is sent on: outer middleware may add headers
                # of their own (the worker pid) to the message's list.
                status = message["status"]
                headers = tuple((name, value) for name, value in message.get("headers", ()))
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                complete = not message.get("more_body", False)
            await send(message)

        await self.app(scope, receive, capture)
        if generation is None or status != 200 or not complete:
            return
        cache.store(key, CachedResponse(status, headers, b"".join(chunks)), generation)

    def _cache_for(self, path: str) -> Cache | None:
        for pattern, name in self._routes:
            if pattern.fullmatch(path):
                return self._registry.get(name)
        return None


def _query(query_string: bytes) -> tuple[tuple[str, str], ...]:
    if not query_string:
        return ()
    # Sorted by name only: the order of a repeated parameter's values matters.
    pairs = parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)
    return tuple(sorted(pairs, key=itemgetter(0)))
