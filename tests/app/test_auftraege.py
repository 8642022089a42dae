"""``/api/v1/auftraege``: placing orders, stock reservation, status changes, lists."""

from __future__ import annotations

from typing import Any

import httpx

from tests.app.helpers import SEED_AUFTRAEGE


async def bestand(client: httpx.AsyncClient, artikel_id: int) -> int:
    response = await client.get(f"/api/v1/artikel/{artikel_id}")
    value: int = response.json()["bestand"]
    return value


async def totals(client: httpx.AsyncClient) -> dict[str, int]:
    counts = {}
    for path in ("auftraege", "rechnungen", "lager/bewegungen"):
        counts[path] = (await client.get(f"/api/v1/{path}", params={"limit": 1})).json()["total"]
    return counts


async def stocked_article(client: httpx.AsyncClient, menge: int) -> dict[str, Any]:
    body = {"name": "Testartikel", "kategorie": "Test", "preis": 2.5, "bestand": menge}
    created: dict[str, Any] = (await client.post("/api/v1/artikel", json=body)).json()
    return created


async def test_place_order_writes_everything(client: httpx.AsyncClient) -> None:
    artikel = await stocked_article(client, 10)

    response = await client.post(
        "/api/v1/auftraege",
        json={"kunde_id": 4, "positionen": [{"artikel_id": artikel["id"], "menge": 3}]},
    )

    assert response.status_code == 201
    auftrag = response.json()
    assert auftrag["id"] == SEED_AUFTRAEGE + 1
    assert auftrag["status"] == "offen"
    assert auftrag["kunde"]["id"] == 4
    assert auftrag["gesamtbetrag"] == 7.5
    assert [(p["artikel"]["id"], p["menge"], p["einzelpreis"]) for p in auftrag["positionen"]] == [
        (artikel["id"], 3, 2.5)
    ]
    assert auftrag["rechnung"]["rechnungsnummer"] == f"RE{auftrag['id']:08d}"
    assert auftrag["rechnung"]["status"] == "offen"
    assert await bestand(client, artikel["id"]) == 7

    rechnung = (await client.get(f"/api/v1/rechnungen/{auftrag['rechnung']['id']}")).json()
    assert rechnung["betrag"] == 7.5
    assert rechnung["auftrag_id"] == auftrag["id"]
    movements = await client.get("/api/v1/lager/bewegungen", params={"auftrag_id": auftrag["id"]})
    assert [(m["art"], m["menge"]) for m in movements.json()["items"]] == [("auftrag", -3)]
    assert (await client.get(f"/api/v1/auftraege/{auftrag['id']}")).json() == auftrag


async def test_order_over_stock_changes_nothing(
    client: httpx.AsyncClient,
) -> None:
    plenty = await stocked_article(client, 100)
    scarce = await stocked_article(client, 2)
    before = await totals(client)

    response = await client.post(
        "/api/v1/auftraege",
        json={
            "kunde_id": 1,
            "positionen": [
                {"artikel_id": plenty["id"], "menge": 5},
                {"artikel_id": scarce["id"], "menge": 3},
            ],
        },
    )

    assert response.status_code == 409
    assert response.json() == {
        "detail": f"insufficient stock for Artikel {scarce['id']}: 3 requested, 2 in stock",
        "artikel_id": scarce["id"],
        "angefragt": 3,
        "bestand": 2,
    }
    # The first line had already been reserved; the rollback returned it.
    assert await bestand(client, plenty["id"]) == 100
    assert await bestand(client, scarce["id"]) == 2
    assert await totals(client) == before


async def test_order_unknown_customer_is_422(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/auftraege", json={"kunde_id": 9999, "positionen": [{"artikel_id": 1, "menge": 1}]}
    )

    assert response.status_code == 422
    assert response.json()["detail"] == [
        {"type": "not_found", "loc": ["body", "kunde_id"], "msg": "Kunde 9999 not found"}
    ]


async def test_order_unknown_article_is_422(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/auftraege",
        json={
            "kunde_id": 1,
            "positionen": [{"artikel_id": 1, "menge": 1}, {"artikel_id": 8888, "menge": 1}],
        },
    )

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "positionen", 1, "artikel_id"]


async def test_order_body_errors_are_422(client: httpx.AsyncClient) -> None:
    cases = {
        "no lines": {"kunde_id": 1, "positionen": []},
        "zero units": {"kunde_id": 1, "positionen": [{"artikel_id": 1, "menge": 0}]},
        "same article twice": {
            "kunde_id": 1,
            "positionen": [{"artikel_id": 1, "menge": 1}, {"artikel_id": 1, "menge": 2}],
        },
        "id beyond 32 bits": {"kunde_id": 2**40, "positionen": [{"artikel_id": 1, "menge": 1}]},
        "missing customer": {"positionen": [{"artikel_id": 1, "menge": 1}]},
    }
    for case, body in cases.items():
        response = await client.post("/api/v1/auftraege", json=body)
        assert response.status_code == 422, case


async def test_cancel_returns_stock_and_cancels_invoice(client: httpx.AsyncClient) -> None:
    artikel = await stocked_article(client, 5)
    auftrag = (
        await client.post(
            "/api/v1/auftraege",
            json={"kunde_id": 2, "positionen": [{"artikel_id": artikel["id"], "menge": 4}]},
        )
    ).json()

    response = await client.patch(
        f"/api/v1/auftraege/{auftrag['id']}", json={"status": "storniert"}
    )

    assert response.status_code == 200
    assert response.json()["status"] == "storniert"
    assert response.json()["rechnung"]["status"] == "storniert"
    assert await bestand(client, artikel["id"]) == 5
    movements = await client.get(
        "/api/v1/lager/bewegungen", params={"auftrag_id": auftrag["id"], "sort": "id"}
    )
    assert [(m["art"], m["menge"]) for m in movements.json()["items"]] == [
        ("auftrag", -4),
        ("storno", 4),
    ]


async def test_final_status_cannot_change(client: httpx.AsyncClient) -> None:
    artikel = await stocked_article(client, 5)
    auftrag = (
        await client.post(
            "/api/v1/auftraege",
            json={"kunde_id": 2, "positionen": [{"artikel_id": artikel["id"], "menge": 1}]},
        )
    ).json()
    url = f"/api/v1/auftraege/{auftrag['id']}"
    assert (await client.patch(url, json={"status": "versandt"})).status_code == 200

    response = await client.patch(url, json={"status": "storniert"})

    assert response.status_code == 409
    assert response.json()["detail"] == (
        f"Auftrag {auftrag['id']} is versandt and cannot become storniert"
    )
    assert await bestand(client, artikel["id"]) == 4


async def test_status_outside_choices_is_422(client: httpx.AsyncClient) -> None:
    response = await client.patch("/api/v1/auftraege/1", json={"status": "offen"})

    assert response.status_code == 422


async def test_list_filtered_by_customer_and_status(client: httpx.AsyncClient) -> None:
    response = await client.get(
        "/api/v1/auftraege", params={"kunde_id": 3, "status": "versandt", "limit": 200}
    )

    assert response.status_code == 200
    items = response.json()["items"]
    assert items
    assert {(a["kunde"]["id"], a["status"]) for a in items} == {(3, "versandt")}


async def test_list_filtered_by_time_sorted_by_total(client: httpx.AsyncClient) -> None:
    newest = (await client.get("/api/v1/auftraege", params={"sort": "-bestelldatum"})).json()
    von = newest["items"][9]["bestelldatum"]

    response = await client.get(
        "/api/v1/auftraege", params={"von": von, "sort": "-gesamtbetrag", "limit": 200}
    )

    assert response.status_code == 200
    items = response.json()["items"]
    assert len(items) == 10
    assert all(a["bestelldatum"] >= von for a in items)
    totals_desc = [a["gesamtbetrag"] for a in items]
    assert totals_desc == sorted(totals_desc, reverse=True)


async def test_list_naive_time_is_422(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/auftraege", params={"von": "2026-01-01T00:00:00"})

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "von"]


async def test_orders_cannot_be_deleted(client: httpx.AsyncClient) -> None:
    response = await client.delete("/api/v1/auftraege/1")

    assert response.status_code == 405
