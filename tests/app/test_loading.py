"""Queries per request: a fixed few with eager loading, one per row without it."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from app.main import create_app
from tests.app.helpers import AppClient, QueryLog, small_settings, sqlite_url

# Every list and detail route with a full page; each costs at most this many SELECTs.
ROUTES = {
    "/api/v1/kunden?limit=50": 2,
    "/api/v1/artikel?limit=50": 2,
    "/api/v1/auftraege?limit=50": 3,
    "/api/v1/rechnungen?limit=50": 2,
    "/api/v1/lager?limit=50": 2,
    "/api/v1/lager/bewegungen?limit=50": 2,
    "/api/v1/kunden/1": 1,
    "/api/v1/artikel/1": 1,
    "/api/v1/auftraege/1": 2,
    "/api/v1/rechnungen/1": 1,
    "/api/v1/lager/1": 2,
    "/api/v1/artikel/1/prognose": 2,
}


@pytest.mark.parametrize(("path", "most"), ROUTES.items(), ids=list(ROUTES))
async def test_eager_loading_query_count(
    client: httpx.AsyncClient, query_log: QueryLog, path: str, most: int
) -> None:
    response = await client.get(path)

    assert response.status_code == 200
    selects = query_log.selects()
    assert selects, "no SELECT recorded: is the query log attached?"
    assert len(selects) <= most, "\n".join(selects)


async def test_lazy_loading_queries_per_row(database_path: Path) -> None:
    query_log = QueryLog()
    app = create_app(small_settings(sqlite_url(database_path), eager_loading=False))
    app.state.engine_hooks.append(query_log.attach)

    async with AppClient(app) as client:
        response = await client.get("/api/v1/auftraege", params={"limit": 50})
        lazy_body = response.json()
    async with AppClient(create_app(small_settings(sqlite_url(database_path)))) as client:
        eager_body = (await client.get("/api/v1/auftraege", params={"limit": 50})).json()

    assert response.status_code == 200
    # Lines and invoice of every order, each loaded on its own.
    assert len(query_log.selects()) > 100
    assert lazy_body == eager_body
