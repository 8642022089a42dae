"""Database metrics from a real SQLite engine, per request and per pool."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from app.metrics import install_metrics, instrument_engine
from app.settings import Settings
from tests.metrics.scrape import client_for, scrape, value


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'erp.db'}")
    instrument_engine(engine)
    instrument_engine(engine)  # a second call must not count twice
    yield engine
    await engine.dispose()


def build_app(engine: AsyncEngine) -> FastAPI:
    app = FastAPI()

    @app.get("/drei")
    async def three_queries() -> dict[str, int]:
        async with engine.connect() as connection:
            for number in range(3):
                await connection.execute(text("SELECT :n"), {"n": number})
        return {"queries": 3}

    @app.get("/kaputt")
    async def failing_query() -> None:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT * FROM no_such_table"))

    install_metrics(app, Settings())
    return app


async def test_queries_per_request_by_handler(engine: AsyncEngine) -> None:
    async with client_for(build_app(engine)) as client:
        before = await scrape(client)
        assert (await client.get("/drei")).status_code == 200
        after = await scrape(client)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("erp_db_queries_per_request_sum", handler="/drei") == 3
    assert delta("erp_db_queries_per_request_count", handler="/drei") == 1
    assert delta("erp_db_queries_per_request_bucket", handler="/drei", le="2.0") == 0
    assert delta("erp_db_queries_per_request_bucket", handler="/drei", le="3.0") == 1
    assert delta("erp_db_query_duration_seconds_count", operation="select") == 3
    assert delta("erp_db_queries_per_request_sum", handler="/metrics") == 0


async def test_failed_statement_keeps_timing_consistent(engine: AsyncEngine) -> None:
    app = build_app(engine)
    async with client_for(app) as client:
        before = await scrape(client)
        assert (await client.get("/kaputt")).status_code == 500
        assert (await client.get("/drei")).status_code == 200
        after = await scrape(client)
    count = "erp_db_query_duration_seconds_count"
    assert value(after, count, operation="select") - value(before, count, operation="select") == 3
    assert value(after, "http_requests_total", handler="/kaputt", method="GET", status="500") >= 1


async def test_pool_gauges_follow_checkouts(engine: AsyncEngine) -> None:
    app = build_app(engine)
    async with client_for(app) as client:
        base = await scrape(client)
        in_use = value(base, "erp_db_pool_connections", state="in_use")
        idle = value(base, "erp_db_pool_connections", state="idle")

        first = await engine.connect()
        second = await engine.connect()
        await first.execute(text("SELECT 1"))
        await second.execute(text("SELECT 1"))
        busy = await scrape(client)
        await first.close()
        await second.close()
        returned = await scrape(client)

    assert value(busy, "erp_db_pool_connections", state="in_use") == in_use + 2
    assert value(returned, "erp_db_pool_connections", state="in_use") == in_use
    assert value(returned, "erp_db_pool_connections", state="idle") >= idle + 2

    await engine.dispose()
    assert value(await scrape(client_for(app)), "erp_db_pool_connections", state="idle") == idle


async def test_queries_outside_requests_count_nowhere(engine: AsyncEngine) -> None:
    app = build_app(engine)
    async with client_for(app) as client:
        before = await scrape(client)
        await asyncio.gather(*(run_select(engine) for _ in range(3)))
        after = await scrape(client)
    name = "erp_db_queries_per_request_sum"
    assert value(after, name, handler="/metrics") == value(before, name, handler="/metrics")


async def run_select(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        await connection.execute(text("SELECT 1"))
