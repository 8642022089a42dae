"""``/api/v1/lager``: stock levels and movements."""

from __future__ import annotations

import httpx

from tests.app.helpers import SEED_ARTIKEL


async def test_levels_low_stock_first(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/lager", params={"sort": "bestand", "limit": 200})

    assert response.status_code == 200
    page = response.json()
    assert page["total"] == SEED_ARTIKEL
    assert set(page["items"][0]) == {"artikel_id", "artikelnummer", "name", "kategorie", "bestand"}
    levels = [item["bestand"] for item in page["items"]]
    assert levels == sorted(levels)


async def test_levels_at_or_below(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/lager", params={"bestand_max": 100, "limit": 200})

    assert response.status_code == 200
    assert all(item["bestand"] <= 100 for item in response.json()["items"])


async def test_detail_shows_latest_movements(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/lager/1")

    assert response.status_code == 200
    detail = response.json()
    assert detail["artikel_id"] == 1
    ids = [b["id"] for b in detail["bewegungen"]]
    assert ids == sorted(ids, reverse=True)
    assert 0 < len(ids) <= 20
    assert {b["artikel"]["id"] for b in detail["bewegungen"]} == {1}


async def test_goods_received_adds_stock(client: httpx.AsyncClient) -> None:
    before = (await client.get("/api/v1/lager/2")).json()["bestand"]

    response = await client.post(
        "/api/v1/lager/bewegungen",
        json={"artikel_id": 2, "menge": 30, "art": "zugang", "notiz": "Lieferung 4711"},
    )

    assert response.status_code == 201
    bewegung = response.json()
    assert (bewegung["art"], bewegung["menge"], bewegung["notiz"]) == (
        "zugang",
        30,
        "Lieferung 4711",
    )
    assert bewegung["artikel"]["id"] == 2
    assert (await client.get("/api/v1/lager/2")).json()["bestand"] == before + 30


async def test_correction_below_zero_is_409(client: httpx.AsyncClient) -> None:
    before = (await client.get("/api/v1/lager/2")).json()["bestand"]

    response = await client.post(
        "/api/v1/lager/bewegungen",
        json={"artikel_id": 2, "menge": -(before + 1), "art": "korrektur"},
    )

    assert response.status_code == 409
    assert response.json()["bestand"] == before
    assert (await client.get("/api/v1/lager/2")).json()["bestand"] == before


async def test_correction_down_to_zero(client: httpx.AsyncClient) -> None:
    before = (await client.get("/api/v1/lager/3")).json()["bestand"]

    response = await client.post(
        "/api/v1/lager/bewegungen", json={"artikel_id": 3, "menge": -before, "art": "korrektur"}
    )

    assert response.status_code == 201
    assert (await client.get("/api/v1/lager/3")).json()["bestand"] == 0


async def test_movement_body_errors_are_422(client: httpx.AsyncClient) -> None:
    cases = {
        "negative zugang": {"artikel_id": 2, "menge": -1, "art": "zugang"},
        "zero": {"artikel_id": 2, "menge": 0, "art": "korrektur"},
        "order kind": {"artikel_id": 2, "menge": -1, "art": "auftrag"},
        "unknown article": {"artikel_id": 5555, "menge": 1, "art": "zugang"},
    }
    for case, body in cases.items():
        response = await client.post("/api/v1/lager/bewegungen", json=body)
        assert response.status_code == 422, case


async def test_movements_filtered_by_kind_and_time(client: httpx.AsyncClient) -> None:
    response = await client.get(
        "/api/v1/lager/bewegungen",
        params={"art": "zugang", "bis": "2100-01-01T00:00:00Z", "sort": "zeitpunkt", "limit": 200},
    )

    assert response.status_code == 200
    items = response.json()["items"]
    assert items
    assert {b["art"] for b in items} == {"zugang"}
    assert all(b["menge"] > 0 for b in items)
    zeiten = [b["zeitpunkt"] for b in items]
    assert zeiten == sorted(zeiten)


async def test_unknown_article_stock_is_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/lager/31337")

    assert response.status_code == 404
