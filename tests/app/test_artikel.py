"""``/api/v1/artikel``: list, read, create, update, delete."""

from __future__ import annotations

import httpx

from tests.app.helpers import SEED_ARTIKEL

NEW_ARTIKEL = {"name": "Akkuschrauber 18 V", "kategorie": "Werkzeug", "preis": 89.9, "bestand": 12}


async def test_list_fields_and_total(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/artikel", params={"limit": 3})

    assert response.status_code == 200
    page = response.json()
    assert page["total"] == SEED_ARTIKEL
    assert set(page["items"][0]) == {
        "id", "artikelnummer", "name", "kategorie", "preis", "bestand", "erstellt_am",
    }  # fmt: skip
    assert isinstance(page["items"][0]["preis"], float)


async def test_filter_by_price_range_sorted_by_price(client: httpx.AsyncClient) -> None:
    params: dict[str, str | int] = {
        "preis_min": "5",
        "preis_max": "40.5",
        "sort": "preis",
        "limit": 200,
    }
    response = await client.get("/api/v1/artikel", params=params)

    assert response.status_code == 200
    preise = [artikel["preis"] for artikel in response.json()["items"]]
    assert preise
    assert preise == sorted(preise)
    assert all(5 <= preis <= 40.5 for preis in preise)


async def test_filter_by_category(client: httpx.AsyncClient) -> None:
    kategorie = (await client.get("/api/v1/artikel/1")).json()["kategorie"]

    response = await client.get("/api/v1/artikel", params={"kategorie": kategorie, "limit": 200})

    assert response.status_code == 200
    page = response.json()
    assert page["total"] == len(page["items"])
    assert {artikel["kategorie"] for artikel in page["items"]} == {kategorie}


async def test_create_books_opening_stock(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/artikel", json=NEW_ARTIKEL)

    assert response.status_code == 201
    created = response.json()
    assert created["artikelnummer"] == f"A{created['id']:06d}"
    assert created["preis"] == 89.9
    assert created["bestand"] == 12
    lager = (await client.get(f"/api/v1/lager/{created['id']}")).json()
    assert [(b["art"], b["menge"]) for b in lager["bewegungen"]] == [("zugang", 12)]


async def test_create_price_with_three_decimals_is_422(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/artikel", json=NEW_ARTIKEL | {"preis": 1.005})

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "preis"]


async def test_update_price(client: httpx.AsyncClient) -> None:
    response = await client.patch("/api/v1/artikel/2", json={"preis": "12.34"})

    assert response.status_code == 200
    assert response.json()["preis"] == 12.34
    assert (await client.get("/api/v1/artikel/2")).json()["preis"] == 12.34


async def test_update_stock_directly_is_422(client: httpx.AsyncClient) -> None:
    response = await client.patch("/api/v1/artikel/2", json={"bestand": 1000})

    assert response.status_code == 422
    error = response.json()["detail"][0]
    assert error["loc"] == ["body", "bestand"]
    assert error["type"] == "extra_forbidden"


async def test_delete_unordered_article(client: httpx.AsyncClient) -> None:
    created = (await client.post("/api/v1/artikel", json=NEW_ARTIKEL)).json()

    response = await client.delete(f"/api/v1/artikel/{created['id']}")

    assert response.status_code == 204
    assert (await client.get(f"/api/v1/artikel/{created['id']}")).status_code == 404
    movements = await client.get("/api/v1/lager/bewegungen", params={"artikel_id": created["id"]})
    assert movements.json()["total"] == 0


async def test_delete_ordered_article_is_409(client: httpx.AsyncClient) -> None:
    artikel_id = (await client.get("/api/v1/auftraege/1")).json()["positionen"][0]["artikel"]["id"]

    response = await client.delete(f"/api/v1/artikel/{artikel_id}")

    assert response.status_code == 409
    assert "appears in orders" in response.json()["detail"]


async def test_get_unknown_is_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/artikel/424242")

    assert response.status_code == 404
    assert response.json() == {"detail": "Artikel 424242 not found"}
