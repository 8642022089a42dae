"""``/api/v1/rechnungen``: list, read, mark paid."""

from __future__ import annotations

import httpx


async def first_invoice(client: httpx.AsyncClient, status: str) -> int:
    response = await client.get("/api/v1/rechnungen", params={"status": status, "limit": 1})
    rechnung_id: int = response.json()["items"][0]["id"]
    return rechnung_id


async def test_read_fields(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/rechnungen/1")

    assert response.status_code == 200
    rechnung = response.json()
    assert set(rechnung) == {
        "id", "rechnungsnummer", "status", "auftrag_id", "kunde", "rechnungsdatum", "faellig_am",
        "betrag",
    }  # fmt: skip
    assert rechnung["rechnungsnummer"] == "RE00000001"
    assert set(rechnung["kunde"]) == {"id", "kundennummer", "name"}


async def test_list_filtered_and_sorted(client: httpx.AsyncClient) -> None:
    response = await client.get(
        "/api/v1/rechnungen",
        params={"status": "bezahlt", "faellig_bis": "2030-01-01", "sort": "-betrag", "limit": 50},
    )

    assert response.status_code == 200
    items = response.json()["items"]
    assert {r["status"] for r in items} == {"bezahlt"}
    betraege = [r["betrag"] for r in items]
    assert betraege == sorted(betraege, reverse=True)


async def test_pay_open_invoice(client: httpx.AsyncClient) -> None:
    rechnung_id = await first_invoice(client, "offen")

    response = await client.patch(f"/api/v1/rechnungen/{rechnung_id}", json={"status": "bezahlt"})

    assert response.status_code == 200
    assert response.json()["status"] == "bezahlt"
    assert (await client.get(f"/api/v1/rechnungen/{rechnung_id}")).json()["status"] == "bezahlt"


async def test_pay_cancelled_invoice_is_409(client: httpx.AsyncClient) -> None:
    rechnung_id = await first_invoice(client, "storniert")

    response = await client.patch(f"/api/v1/rechnungen/{rechnung_id}", json={"status": "bezahlt"})

    assert response.status_code == 409
    assert response.json()["detail"] == (
        f"Rechnung {rechnung_id} is storniert and cannot become bezahlt"
    )


async def test_invoice_status_other_than_paid_is_422(client: httpx.AsyncClient) -> None:
    response = await client.patch("/api/v1/rechnungen/1", json={"status": "storniert"})

    assert response.status_code == 422


async def test_unknown_invoice_is_404(client: httpx.AsyncClient) -> None:
    response = await client.patch("/api/v1/rechnungen/77777", json={"status": "bezahlt"})

    assert response.status_code == 404
    assert response.json() == {"detail": "Rechnung 77777 not found"}
