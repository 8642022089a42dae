"""Cached HTTP responses: a small app to see what reaches it, and the ERP app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from prometheus_client import REGISTRY
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import Message, Receive, Scope, Send

from app.cache import CacheRegistry, ResponseCache, caches
from app.cache.responses import CachedResponse
from app.db.setup import prepare_database
from app.main import create_app
from app.settings import Settings

ROUTES = ((r"/api/v1/kunden(/[^/]+)?", "kunden"),)


class CountingApp:
    """A Starlette app that counts the requests that reach it."""

    def __init__(self) -> None:
        self.calls = 0
        self.status = 200
        self.app = Starlette(
            routes=[
                Route("/api/v1/kunden", self.endpoint),
                Route("/api/v1/kunden/{kunde_id}", self.endpoint, methods=["GET", "POST"]),
                Route("/health", self.endpoint),
            ]
        )

    async def endpoint(self, request: Request) -> JSONResponse:
        self.calls += 1
        return JSONResponse({"call": self.calls}, status_code=self.status)


@pytest.fixture
def registry(tmp_path: Path) -> CacheRegistry:
    registry = CacheRegistry()
    registry.configure(Settings(state_path=tmp_path / "state"))
    return registry


def client(app: CountingApp, registry: CacheRegistry) -> httpx.AsyncClient:
    middleware = ResponseCache(app.app, registry=registry, routes=ROUTES)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=middleware), base_url="http://t")


async def test_repeated_get_skips_app(registry: CacheRegistry) -> None:
    app = CountingApp()
    async with client(app, registry) as http:
        first = await http.get("/api/v1/kunden/1")
        second = await http.get("/api/v1/kunden/1")

    assert second.status_code == 200
    assert second.json() == first.json() == {"call": 1}
    assert second.headers["content-type"] == "application/json"
    assert second.headers["content-length"] == first.headers["content-length"]
    assert app.calls == 1
    assert REGISTRY.get_sample_value("erp_cache_hits_total", {"cache": "kunden"}) is not None


async def test_outer_header_is_not_stored(registry: CacheRegistry) -> None:
    app = CountingApp()
    inner = ResponseCache(app.app, registry=registry, routes=ROUTES)

    async def add_pid_header(scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_header(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"].append((b"x-leitstand-worker-pid", b"42"))
            await send(message)

        await inner(scope, receive, send_with_header)

    transport = httpx.ASGITransport(app=add_pid_header)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        await http.get("/api/v1/kunden/1")
        second = await http.get("/api/v1/kunden/1")

    assert app.calls == 1
    assert second.headers.get_list("x-leitstand-worker-pid") == ["42"]


async def test_query_order_shares_entry(registry: CacheRegistry) -> None:
    app = CountingApp()
    async with client(app, registry) as http:
        await http.get("/api/v1/kunden?ort=Hamburg&limit=10")
        await http.get("/api/v1/kunden?limit=10&ort=Hamburg")
        await http.get("/api/v1/kunden?limit=10&ort=Bremen")
    assert app.calls == 2


async def test_clear_drops_responses(registry: CacheRegistry) -> None:
    app = CountingApp()
    async with client(app, registry) as http:
        await http.get("/api/v1/kunden/1")
        registry.invalidate("kunden")
        response = await http.get("/api/v1/kunden/1")
    assert response.json() == {"call": 2}


@pytest.mark.parametrize("status", [404, 422, 500])
async def test_error_responses_are_not_stored(registry: CacheRegistry, status: int) -> None:
    app = CountingApp()
    app.status = status
    async with client(app, registry) as http:
        await http.get("/api/v1/kunden/1")
        response = await http.get("/api/v1/kunden/1")
    assert response.status_code == status
    assert app.calls == 2


async def test_other_routes_and_methods_pass(registry: CacheRegistry) -> None:
    app = CountingApp()
    async with client(app, registry) as http:
        await http.get("/health")
        await http.get("/health")
        await http.post("/api/v1/kunden/1")
        await http.post("/api/v1/kunden/1")
    assert app.calls == 4


async def test_disabled_cache_passes(tmp_path: Path) -> None:
    registry = CacheRegistry()
    registry.configure(Settings(state_path=tmp_path / "state", cache_enabled=False))
    app = CountingApp()
    async with client(app, registry) as http:
        await http.get("/api/v1/kunden/1")
        await http.get("/api/v1/kunden/1")
    assert app.calls == 2


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    folder = tmp_path_factory.mktemp("erp")
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{folder / 'erp.db'}",
        seed_kunden=20,
        seed_artikel=10,
        seed_auftraege=30,
    )
    prepare_database(settings)
    return settings


@pytest.fixture
async def erp(seeded: Settings) -> AsyncIterator[tuple[httpx.AsyncClient, list[str]]]:
    statements: list[str] = []

    def record(engine: AsyncEngine) -> None:
        event.listen(
            engine.sync_engine,
            "before_cursor_execute",
            lambda _conn, _cursor, statement, *_: statements.append(statement),
        )

    app = create_app(seeded)
    app.state.engine_hooks.append(record)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://erp.test") as http:
            yield http, statements


async def test_erp_list_page_served_from_cache(
    erp: tuple[httpx.AsyncClient, list[str]],
) -> None:
    http, statements = erp
    path = "/api/v1/artikel?limit=5&sort=name"
    first = await http.get(path)
    assert first.status_code == 200
    statements.clear()

    second = await http.get("/api/v1/artikel?sort=name&limit=5")
    assert second.status_code == 200
    assert second.content == first.content
    assert statements == []
    stored = caches.get("artikel").backend.get(
        ("http", "/api/v1/artikel", (("limit", "5"), ("sort", "name")))
    )
    assert isinstance(stored, CachedResponse)
    assert stored.body == first.content


async def test_erp_write_drops_cached_response(
    erp: tuple[httpx.AsyncClient, list[str]],
) -> None:
    http, _ = erp
    before = await http.get("/api/v1/artikel/3")
    assert before.status_code == 200
    new_price = round(float(before.json()["preis"]) + 2.5, 2)

    changed = await http.patch("/api/v1/artikel/3", json={"preis": new_price})
    assert changed.status_code == 200

    after = await http.get("/api/v1/artikel/3")
    assert after.status_code == 200
    assert float(after.json()["preis"]) == new_price
