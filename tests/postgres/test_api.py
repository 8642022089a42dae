"""The same code on PostgreSQL: seeding, orders, conflicts and concurrent orders."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator

import httpx
import pytest

from app.main import create_app
from app.settings import Settings
from tests.app.helpers import SEED_ARTIKEL, SEED_AUFTRAEGE, SEED_KUNDEN, AppClient

pytestmark = pytest.mark.slow


@pytest.fixture
async def pg_client(pg_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with AppClient(create_app(pg_settings)) as client:
        yield client


async def test_seeded_sizes(pg_client: httpx.AsyncClient) -> None:
    for path, expected in [
        ("kunden", SEED_KUNDEN),
        ("artikel", SEED_ARTIKEL),
        ("auftraege", SEED_AUFTRAEGE),
        ("rechnungen", SEED_AUFTRAEGE),
    ]:
        response = await pg_client.get(f"/api/v1/{path}", params={"limit": 1})
        assert response.status_code == 200, path
        assert response.json()["total"] == expected, path


async def test_new_rows_continue_after_seeded_ids(pg_client: httpx.AsyncClient) -> None:
    response = await pg_client.post(
        "/api/v1/kunden",
        json={"name": "Neu", "email": "neu@example.org", "strasse": "W 1", "plz": "10115",
              "ort": "Berlin"},
    )  # fmt: skip

    assert response.status_code == 201
    assert response.json()["id"] > SEED_KUNDEN


async def test_sorting_and_filters(pg_client: httpx.AsyncClient) -> None:
    response = await pg_client.get(
        "/api/v1/auftraege", params={"status": "versandt", "sort": "-gesamtbetrag", "limit": 20}
    )

    assert response.status_code == 200
    totals = [auftrag["gesamtbetrag"] for auftrag in response.json()["items"]]
    assert totals == sorted(totals, reverse=True)
    assert (await pg_client.get("/api/v1/kunden", params={"name": "%"})).json()["total"] == 0


async def test_forecast(pg_client: httpx.AsyncClient) -> None:
    response = await pg_client.get("/api/v1/artikel/1/prognose", params={"wochen": 4})

    assert response.status_code == 200
    assert len(response.json()["prognose"]) == 4
    assert sum(week["menge"] for week in response.json()["historie"]) > 0


async def test_concurrent_orders_sell_stock_once(pg_client: httpx.AsyncClient) -> None:
    created = await pg_client.post(
        "/api/v1/artikel", json={"name": "Knapp", "kategorie": "Test", "preis": 1, "bestand": 20}
    )
    artikel_id = created.json()["id"]
    body = {"kunde_id": 1, "positionen": [{"artikel_id": artikel_id, "menge": 1}]}

    responses = await asyncio.gather(
        *(pg_client.post("/api/v1/auftraege", json=body) for _ in range(60))
    )

    assert Counter(r.status_code for r in responses) == Counter({201: 20, 409: 40})
    assert (await pg_client.get(f"/api/v1/artikel/{artikel_id}")).json()["bestand"] == 0


async def test_cancel_returns_stock(pg_client: httpx.AsyncClient) -> None:
    created = await pg_client.post(
        "/api/v1/artikel", json={"name": "Storno", "kategorie": "Test", "preis": 1, "bestand": 3}
    )
    artikel_id = created.json()["id"]
    auftrag = await pg_client.post(
        "/api/v1/auftraege",
        json={"kunde_id": 2, "positionen": [{"artikel_id": artikel_id, "menge": 3}]},
    )

    response = await pg_client.patch(
        f"/api/v1/auftraege/{auftrag.json()['id']}", json={"status": "storniert"}
    )

    assert response.status_code == 200
    assert (await pg_client.get(f"/api/v1/artikel/{artikel_id}")).json()["bestand"] == 3
